"""Bad input never costs a run: `rlkd validate` catches it up front, and malformed rows can be skipped and counted."""

import json
import os
import subprocess
import sys

import yaml

from rlkd.commands.train import run_training
from rlkd.config import load_config
from tests.conftest import REPO


def _run(*args, env_extra=None):
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "rlkd.cli", *args], cwd=REPO, capture_output=True, text=True, timeout=300, env=env
    )


def _with(tiny_config, tmp_path, name, **sections):
    raw = yaml.safe_load(tiny_config.read_text())
    for key, value in sections.items():
        raw[key] = value
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _malformed_dataset(tmp_path):
    rows = [{"prompt": f"Compute {i}+{i}. Put the answer in \\boxed{{}}.", "solution": str(2 * i)} for i in range(12)]
    rows[2]["solution"] = None  # missing solution
    rows[5]["prompt"] = ""  # empty prompt
    rows[7]["solution"] = ["14"]  # not a string
    rows[9]["prompt"] = "Compute " + "9" * 700  # longer than the model context
    path = tmp_path / "messy.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_validate_passes_a_good_config(tiny_config):
    proc = _run("validate", str(tiny_config))
    assert proc.returncode == 0, proc.stderr
    gen = yaml.safe_load(tiny_config.read_text())["data"]["generator_args"]
    assert f"data ok: {gen['num_train']} train rows, {gen['num_eval']} eval rows" in proc.stdout
    assert "rewards ok: accuracy (weight 1.0), format (weight 0.5)" in proc.stdout


def test_validate_names_the_first_malformed_row(tiny_config, tmp_path):
    data = {"path": str(_malformed_dataset(tmp_path)), "thinking": "on"}
    proc = _run("validate", str(_with(tiny_config, tmp_path, "messy", data=data)))
    assert proc.returncode == 2
    assert proc.stderr.strip().endswith(
        "row 2: column 'solution' is missing; fix the row or set data.on_bad_rows: skip"
    )


def test_validate_checks_reward_columns(tiny_config, tmp_path):
    (tmp_path / "needs_col.py").write_text(
        "def by_difficulty(completions, difficulty, **kwargs):\n    return [0.0] * len(completions)\n"
    )
    cfg = _with(tiny_config, tmp_path, "cols", rewards=[{"name": "needs_col:by_difficulty"}])
    proc = _run("validate", str(cfg), env_extra={"PYTHONPATH": str(tmp_path)})
    assert proc.returncode == 2
    assert "reward 'needs_col:by_difficulty' needs dataset column(s) ['difficulty']" in proc.stderr


def test_training_on_malformed_rows_skips_and_counts(tiny_config, tmp_path):
    data = {"path": str(_malformed_dataset(tmp_path)), "thinking": "mixed", "on_bad_rows": "skip"}
    cfg = load_config(_with(tiny_config, tmp_path, "skip", data=data), ["grpo.max_steps=2"])
    out = run_training(cfg)
    report = json.loads((out / "data_report.json").read_text())
    assert report["total"] == 12 and report["skipped"] == 4
    assert any("row 9: prompt of" in r for r in report["reasons"])
    assert (out / "model.safetensors").exists()


def test_generation_failure_names_the_checkpoint(tiny_config, tmp_path, monkeypatch):
    """A dead generation engine ends the run with the checkpoint to resume from. The engine failure is simulated
    (a real vLLM engine cannot be made to die on cue); everything around it is the real trainer."""
    from rlkd.commands.train import TrainingFailed
    from rlkd.training.trainer import RLKDTrainer

    calls = {"n": 0}
    real_generate = RLKDTrainer._generate

    def flaky_generate(self, prompts):
        calls["n"] += 1
        if calls["n"] > 3:
            raise RuntimeError("EngineDeadError: engine core died unexpectedly")
        return real_generate(self, prompts)

    monkeypatch.setattr(RLKDTrainer, "_generate", flaky_generate)
    cfg = load_config(tiny_config, ["grpo.max_steps=6", "grpo.save_steps=2"])
    try:
        run_training(cfg, config_path="my.yaml")
    except TrainingFailed as e:
        message = str(e)
    else:
        raise AssertionError("training should have failed")
    assert "training stopped at step 3: RuntimeError: EngineDeadError" in message
    assert f"the latest checkpoint is {cfg.output_dir / 'checkpoint-2'}" in message
    assert message.endswith("resume with `rlkd train my.yaml --resume`")
