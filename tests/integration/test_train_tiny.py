"""The tiny config trains end to end on CPU with real TRL, real rewards and offline W&B."""

import math

import yaml

from rlkd.commands.train import run_training
from rlkd.config import load_config
from rlkd.io import read_jsonl


def test_tiny_run_trains_and_records(tiny_config):
    cfg = load_config(tiny_config)
    out = run_training(cfg)

    records = read_jsonl(out / "metrics.jsonl")
    steps = [r for r in records if "loss" in r]
    assert [r["step"] for r in steps] == [1, 2, 3]
    for r in steps:
        assert math.isfinite(r["loss"])
        # both configured rewards are scored and logged under their registry names
        assert 0.0 <= r["rewards/accuracy/mean"] <= 1.0
        assert 0.0 <= r["rewards/format/mean"] <= 1.0
        assert r["rewards/accuracy/errors"] == 0
    # the weighted total is what TRL optimises: accuracy*1.0 + format*0.5
    assert math.isclose(
        steps[0]["reward"], steps[0]["rewards/accuracy/mean"] + 0.5 * steps[0]["rewards/format/mean"], abs_tol=1e-4
    )

    resolved = yaml.safe_load((out / "config.resolved.yaml").read_text())
    assert resolved["grpo"]["max_steps"] == 3 and resolved["rewards"][1] == {
        "name": "format",
        "weight": 0.5,
        "args": {},
        "batch_timeout": 600.0,
        "isolate": None,  # every default is filled in: a built-in runs in process unless isolate is set
        "memory_limit_mb": None,
    }
    assert (out / "checkpoint-2" / "model.safetensors").exists()
    assert (out / "model.safetensors").exists()  # the final policy
    offline_runs = list((out / "wandb").glob("offline-run-*"))
    assert len(offline_runs) == 1 and list(offline_runs[0].glob("*.wandb"))
