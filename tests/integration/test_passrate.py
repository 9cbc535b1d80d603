"""`rlkd passrate` on the tiny config: writes a pass rate per prompt, survives kill -9 and a torn last line without
losing or duplicating a row, refuses a file made for other data, and feeds a filter + gaussian training run."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from rlkd.cli import main
from rlkd.io import read_jsonl

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
N = 24  # train prompts: 12 batches of 2, slow enough to kill mid-run, quick enough to finish


@pytest.fixture
def passrate_args(tiny_config, tmp_path):
    out = tmp_path / "pr.jsonl"
    overrides = [
        f"data.generator_args.num_train={N}",
        "data.generator_args.num_eval=8",
        "passrate.k=4",
        "passrate.batch_size=2",
        f"passrate.output={out}",
        "generation.max_completion_length=16",
    ]
    return [str(tiny_config), *overrides], out


def _check_complete(out):
    rows = read_jsonl(out)
    assert sorted(r["row_index"] for r in rows) == list(range(N))  # every prompt once: none lost, none twice
    assert all(r["num_samples"] == 4 and 0.0 <= r["pass_rate"] <= 1.0 for r in rows)
    assert all(r["prompt"][0]["role"] == "system" and "solution" in r for r in rows)  # the row, as trained on
    return rows


def test_kill_nine_then_resume_loses_nothing(passrate_args):
    args, out = passrate_args
    env = {**os.environ, "PYTHONPATH": REPO}
    proc = subprocess.Popen(
        [sys.executable, "-m", "rlkd.cli", "passrate", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 120
    while time.time() < deadline and (not out.exists() or out.read_text().count("\n") < 4):
        assert proc.poll() is None, "passrate exited before it could be killed"
        time.sleep(0.05)
    assert proc.poll() is None, "passrate finished before it could be killed: make the run longer"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = out.read_text()
    written = before.count("\n")
    assert 4 <= written < N
    with open(out, "a") as f:  # what a kill in the middle of an append leaves behind
        f.write('{"row_index": 99, "prompt_key": "tor')

    assert main(["passrate", *args]) == 0
    _check_complete(out)
    assert out.read_text().startswith(before)  # rows written before the kill are kept as they were
    assert main(["passrate", *args]) == 0  # finished: a rerun samples nothing and changes nothing
    assert len(read_jsonl(out)) == N


PARITY = """
import hashlib

def parity(completions, **kwargs):  # 0 or 1 by the text's hash: any other draw changes the pass rates
    texts = [c[0]["content"] for c in completions]
    return [float(hashlib.sha1(t.encode()).digest()[0] % 2) for t in texts]
"""

# Kills its own process (kill -9) in the middle of appending the given row: after the rows before it, leaving a
# torn line, inside a batch. A test-only plug-in: the kill point must not depend on timing.
KILLER = """
import json, os, signal
import rlkd.data.passrates as passrates

_append, _rows = passrates.append_jsonl, [0]

def append_jsonl(path, record):
    _rows[0] += 1
    if _rows[0] == int(os.environ["KILL_AT_ROW"]):
        with open(path, "a") as f:
            f.write(json.dumps(record)[:30])
            f.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    _append(path, record)

passrates.append_jsonl = append_jsonl
"""


def test_a_kill_mid_batch_resumes_to_the_rows_of_an_uninterrupted_run(passrate_args, tmp_path, monkeypatch):
    args, out = passrate_args
    (tmp_path / "parity_mod.py").write_text(PARITY)
    (tmp_path / "killer_mod.py").write_text(KILLER)
    monkeypatch.syspath_prepend(str(tmp_path))
    scored = ["rewards=[{name: 'parity_mod:parity'}]", "curriculum.reward=parity_mod:parity", "passrate.batch_size=4"]
    straight = tmp_path / "straight.jsonl"
    assert main(["passrate", *args, *scored, f"passrate.output={straight}"]) == 0

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), REPO]), "KILL_AT_ROW": "7"}
    proc = subprocess.run(
        [sys.executable, "-m", "rlkd.cli", "passrate", *args, *scored, "plugins=[killer_mod]"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert len(read_jsonl(out)) == 6  # batches of 4: killed in the second one, after two of its rows

    assert main(["passrate", *args, *scored]) == 0  # resumed batches start at row 6, not at a multiple of 4
    fields = ("row_index", "prompt_key", "pass_rate", "num_samples", "num_judged")
    got = sorted(tuple(r[f] for f in fields) for r in read_jsonl(out))
    expected = sorted(tuple(r[f] for f in fields) for r in read_jsonl(straight))
    assert len({r[2] for r in expected}) > 1  # the pass rates vary, so a different draw would show
    assert got == expected  # every prompt drew what the uninterrupted run drew


def test_file_for_other_data_is_refused(passrate_args, capsys):
    args, out = passrate_args
    out.write_text(json.dumps({"row_index": 0, "prompt_key": "not-this-prompt", "pass_rate": 0.5}) + "\n")
    assert main(["passrate", *args]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]  # (datasets' progress bars come before it)
    assert last.startswith("rlkd: error: passrate.output") and "holds rows for other data" in last


def test_filter_and_gaussian_training_start_from_the_output(passrate_args, tiny_config, tmp_path, caplog):
    args, out = passrate_args
    assert main(["passrate", *args]) == 0
    rows = _check_complete(out)
    # The random tiny student solves nothing; pretend it solves 5 prompts often (>= 0.75) and 3 sometimes.
    edits = {0: 0.75, 1: 1.0, 2: 0.875, 3: 0.75, 4: 1.0, 5: 0.25, 6: 0.5, 7: 0.5}
    for r in rows:
        r["pass_rate"] = edits.get(r["row_index"], r["pass_rate"])
    out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    train = [
        "train",
        str(tiny_config),
        f"data.generator_args.num_train={N}",
        "data.generator_args.num_eval=8",
        "curriculum.name=gaussian",
        f"curriculum.pass_rates={out}",
        "wandb.mode=disabled",
    ]
    with caplog.at_level("INFO"):
        assert main(train) == 0
    assert f"kept {N - 5} of {N} prompts; dropped 5: 5 with pass_rate >= 0.75" in caplog.text
    state = json.loads((tmp_path / "run" / "checkpoint-2" / "rlkd_state.json").read_text())["curriculum"]
    assert state["name"] == "gaussian" and state["num_prompts"] == N - 5
    metrics = [r for r in read_jsonl(tmp_path / "run" / "metrics.jsonl") if "curriculum/target_mean" in r]
    # easy first: the first batch targets the easiest level left (0.5), later ones move toward 0
    assert metrics[0]["curriculum/target_mean"] > metrics[-1]["curriculum/target_mean"]


def slow_accuracy(completions, **kwargs):
    """A reward that outlives its batch_timeout (module:function, so passrate must build it from its spec)."""
    time.sleep(30)
    return [1.0] * len(completions)


def test_passrate_keeps_the_rewards_batch_timeout(passrate_args):
    args, out = passrate_args
    reward = f"{__name__}:slow_accuracy"
    overrides = [
        f"rewards=[{{name: '{reward}', batch_timeout: 0.2}}]",
        f"curriculum.reward={reward}",
        "data.generator_args.num_train=4",
    ]
    start = time.monotonic()
    assert main(["passrate", *args, *overrides]) == 0
    assert time.monotonic() - start < 25  # two batches cut at 0.2 s each, not two 30-second sleeps
    rows = read_jsonl(out)
    assert len(rows) == 4 and all(r["pass_rate"] is None and r["num_judged"] == 0 for r in rows)  # skipped, not 0


def test_a_prompt_too_long_to_train_on_is_not_estimated(tiny_config, tmp_path):
    import yaml

    from rlkd.config import load_config
    from rlkd.data.passrates import dataset_keys
    from rlkd.training.builder import prepare_run

    data = tmp_path / "data.jsonl"
    rows = [{"prompt": f"{i}+{i}=", "solution": str(2 * i)} for i in range(5)]
    rows.insert(2, {"prompt": "9" * 600 + "+1=", "solution": "1"})  # > 512 positions minus the completion
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    raw = yaml.safe_load(tiny_config.read_text())
    raw["data"] = {"path": str(data), "on_bad_rows": "skip", "thinking": "on"}
    raw["passrate"] = {"k": 2, "batch_size": 2, "output": str(tmp_path / "pr.jsonl")}
    config = tmp_path / "own-data.yaml"
    config.write_text(yaml.safe_dump(raw))
    assert main(["passrate", str(config), "wandb.mode=disabled"]) == 0
    estimated = {r["prompt_key"] for r in read_jsonl(tmp_path / "pr.jsonl")}
    trained = set(dataset_keys(prepare_run(load_config(config, ["wandb.mode=disabled"])).train_dataset))
    assert len(estimated) == 5 and estimated == trained  # the long prompt is neither estimated nor trained
