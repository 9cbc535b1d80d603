"""Per-mode metrics in a real (tiny) GRPO run with mixed reasoning modes: they reach metrics.jsonl and W&B.

This exercises ModeMetricsMixin._calculate_rewards inside TRL's own `_generate_and_score_completions`, so a TRL
upgrade that moves or renames the hook fails here."""

from pathlib import Path

import pytest

from rlkd.config import load_config
from rlkd.io import read_jsonl

MODE_KEYS = [f"modes/{m}/{k}" for m in ("on", "off") for k in ("accuracy", "format", "completion_length")]


def _wandb_records(path: Path):
    """Records of a W&B transaction log (.wandb): a 7-byte file header, then LevelDB-log blocks of 32 KiB whose
    chunks carry a CRC (4 bytes), a length (2) and a type (1: full, 2: first, 3: middle, 4: last). W&B 0.31
    ships no Python reader, so the test reads the format itself."""
    data = path.read_bytes()
    assert data[:4] == b":W&B"
    pos, block, pending = 7, 32768, b""
    while pos + 7 <= len(data):
        if block - pos % block < 7:  # a block's tail too short for a chunk header is padding
            pos += block - pos % block
            continue
        length, kind = int.from_bytes(data[pos + 4 : pos + 6], "little"), data[pos + 6]
        chunk, pos = data[pos + 7 : pos + 7 + length], pos + 7 + length
        if kind == 0 and length == 0:
            break
        pending = chunk if kind in (1, 2) else pending + chunk
        if kind in (1, 4):
            yield pending


def _wandb_history_keys(run_dir: Path) -> set[str]:
    from wandb.proto import wandb_internal_pb2

    (path,) = run_dir.glob("offline-run-*/run-*.wandb")
    keys: set[str] = set()
    for data in _wandb_records(path):
        record = wandb_internal_pb2.Record()
        record.ParseFromString(data)
        if record.WhichOneof("record_type") == "history":
            keys |= {item.key or "/".join(item.nested_key) for item in record.history.item}
    return keys


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, tiny_model_dir):
    import yaml

    tmp = tmp_path_factory.mktemp("modes")
    raw = yaml.safe_load((Path(__file__).resolve().parents[2] / "configs" / "tiny-cpu.yaml").read_text())
    raw["model"]["name_or_path"] = str(tiny_model_dir)
    raw["data"].update(thinking="mixed", thinking_ratio=0.5)
    raw["generation"]["max_completion_length"] = 16
    raw["wandb"]["mode"] = "offline"
    raw["grpo"].update(
        output_dir=str(tmp / "run"),
        max_steps=2,
        per_device_train_batch_size=16,
        num_generations=4,
        save_strategy="no",
        logging_steps=1,
    )
    path = tmp / "modes.yaml"
    path.write_text(yaml.safe_dump(raw))
    from rlkd.commands.train import run_training

    return run_training(load_config(path))


def test_per_mode_metrics_in_metrics_jsonl(run_dir):
    records = [r for r in read_jsonl(run_dir / "metrics.jsonl") if "loss" in r]
    assert len(records) == 2
    # 4 prompts per step with modes mixed half and half: over the two steps both modes are seen
    assert set(MODE_KEYS) <= {k for r in records for k in r}
    for record in records:
        for key in set(MODE_KEYS) & set(record):
            limit = 16 if key.endswith("completion_length") else 1.0  # max_completion_length, or a 0/1 reward
            assert 0.0 <= record[key] <= limit, (key, record[key])
            if key.endswith("completion_length"):
                assert record[key] >= 1.0


def test_per_mode_metrics_in_wandb(run_dir):
    keys = _wandb_history_keys(run_dir / "wandb")
    assert {f"train/{k}" for k in MODE_KEYS} <= keys, sorted(k for k in keys if "modes" in k)
