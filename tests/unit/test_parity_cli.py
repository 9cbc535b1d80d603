"""`rlkd parity RUN_DIR`: reads TRL's per-step vLLM-vs-policy gap from metrics.jsonl and judges it."""

import json

import pytest

from rlkd.cli import main

METRIC = "sampling/sampling_logp_difference/max"


def _run_dir(tmp_path, values):
    lines = [{"step": 0, "loss": 0.1}]  # a record without the metric (e.g. a train_runtime summary)
    lines += [{"step": i + 1, METRIC: v} for i, v in enumerate(values)]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    return tmp_path


@pytest.mark.parametrize(
    "values, code, fragment",
    [
        ([9.5e-7, 1.2e-6], 0, "worst max |vLLM - policy| log-prob = 1.2e-06 at step 2"),  # float32 exact sync
        ([9.5e-7, 1.9], 1, "= 1.9 at step 2 (tolerance 0.0001): FAILED"),  # the stale tied LM head, one step late
        ([1e-6, "nan"], 1, "nan at step 2"),  # metrics.jsonl stores non-finite values as strings; NaN never passes
    ],
)
def test_parity_verdict(tmp_path, capsys, values, code, fragment):
    assert main(["parity", str(_run_dir(tmp_path, values))]) == code
    assert fragment in capsys.readouterr().out


def test_tolerance_is_adjustable(tmp_path, capsys):
    # a bf16 engine disagrees with a bf16 policy at ~1e-2; the user widens the tolerance knowingly
    assert main(["parity", str(_run_dir(tmp_path, [4e-3])), "--tolerance", "1e-2"]) == 0


@pytest.mark.parametrize(
    "values, fragment",
    [
        ([], "has no sampling/sampling_logp_difference/max: train with generation.backend: vllm"),  # transformers run
        (None, "metrics.jsonl not found"),  # not a run directory
    ],
)
def test_parity_without_the_metric_is_a_usage_error(tmp_path, capsys, values, fragment):
    run = _run_dir(tmp_path, values) if values is not None else tmp_path
    assert main(["parity", str(run)]) == 2
    err = capsys.readouterr().err
    assert fragment in err and len(err.strip().splitlines()) == 1
