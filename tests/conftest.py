"""Test set-up: nothing may download (HF_HUB_OFFLINE=1 makes an accidental download fail loudly), W&B stays local,
and the tiny student is built once per session in a temp dir."""

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")
os.environ.pop("WANDB_API_KEY", None)
os.environ["TOKENIZERS_PARALLELISM"] = "false"

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def rlkd_train(config: Path, *args: str, env_extra: dict | None = None, timeout: float = 600):
    """`rlkd train CONFIG ARGS` in a subprocess (so a kill -9 or an exit code is real), with the config's folder on
    PYTHONPATH for the test's plug-in modules."""
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(config.parent), str(REPO)]), **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "rlkd.cli", "train", str(config), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    from rlkd.demo.tiny import save_tiny_model

    return save_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory) -> Path:
    """A Llama-style student with *untied* embeddings (its own lm_head), beside the tied Qwen2 one: the weight sync
    and the LoRA merge must get both layouts right. Same tokenizer and sizes as rlkd.demo.tiny, random init."""
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    from rlkd.demo.tiny import build_tokenizer

    tokenizer = build_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=512,
        tie_word_embeddings=False,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    )
    torch.manual_seed(1)
    model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id
    )
    out = tmp_path_factory.mktemp("tiny-llama")
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


@pytest.fixture
def tiny_config(tiny_model_dir, tmp_path) -> Path:
    """configs/tiny-cpu.yaml pointed at the fixture model and a temp output dir, cut to a few fast steps."""
    import yaml

    raw = yaml.safe_load((REPO / "configs" / "tiny-cpu.yaml").read_text())
    raw["model"]["name_or_path"] = str(tiny_model_dir)
    raw["grpo"].update(
        output_dir=str(tmp_path / "run"), max_steps=3, save_steps=2, per_device_train_batch_size=8, num_generations=4
    )
    raw["generation"]["max_completion_length"] = 24
    raw["curriculum"]["min_pass_rate"] = None  # the random fixture model solves nothing: keep never-solved prompts
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.fixture(autouse=True)
def _restore_environment():
    """TRL's vLLM colocate mode sets RANK/WORLD_SIZE/MASTER_ADDR in os.environ of the test process; left there, they
    leak into later tests and into the CLI subprocesses they start (transformers then warns about a process group)."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)
