"""`rlkd demo` end to end, cut to a few steps per stage: every stage runs for real (SFT, eval, pass rates, GRPO with
the pass-rate filter and the Gaussian curriculum, eval) and leaves its output where the README says."""

import json

import pytest
import yaml

from rlkd.commands.demo import MODES, run_demo
from rlkd.config import ConfigError
from tests.conftest import REPO

NUM_TRAIN = 48
FAST = [
    f"data.generator_args.num_train={NUM_TRAIN}",
    "sft.num_problems=200",
    "sft.args.max_steps=30",
    "eval.max_examples=8",
    "eval.num_samples=2",
    "eval.pass_k=[1,2]",
    "passrate.k=2",
    "curriculum.min_pass_rate=null",  # a 30-step student solves little: keep never-solved prompts in the pool
    "grpo.max_steps=2",
    "grpo.save_steps=2",
    "grpo.per_device_train_batch_size=16",
    "generation.max_completion_length=24",
]


def test_demo_runs_every_stage_and_writes_the_summary(tmp_path, capsys):
    out = tmp_path / "demo"
    summary = run_demo(REPO / "configs" / "tiny-cpu.yaml", out, FAST)

    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk == summary
    assert set(summary) == {"before", "after"}  # no timings: two runs on one machine write the same summary
    for when in ("before", "after"):
        assert set(summary[when]) == set(MODES)
        for mode in MODES:
            assert set(summary[when][mode]) == {"accuracy", "format"}
            assert all(0.0 <= v <= 1.0 for v in summary[when][mode].values())
    minutes = json.loads((out / "timing.json").read_text())["minutes"]
    assert minutes["total"] > 0 and set(minutes) == {
        "tiny-model",
        "sft",
        "eval-before",
        "passrate",
        "grpo",
        "eval-after",
        "total",
    }

    # the before numbers are the SFT student's eval, the after numbers the GRPO student's
    before = json.loads((out / "eval-before.json").read_text())["models"][0]
    after = json.loads((out / "eval-after.json").read_text())["models"][0]
    assert before["path"] == str(out / "sft") and after["path"] == str(out / "grpo")
    assert summary["after"]["on"]["accuracy"] == after["modes"]["on"]["accuracy"]

    rates = [json.loads(line) for line in (out / "passrate.jsonl").read_text().splitlines()]
    assert len(rates) == NUM_TRAIN and all(r["num_samples"] == 2 for r in rates)

    # GRPO ran the recipe's curriculum over the pass rates just estimated
    resolved = yaml.safe_load((out / "grpo" / "config.resolved.yaml").read_text())
    assert resolved["curriculum"]["name"] == "gaussian"
    assert resolved["curriculum"]["pass_rates"] == str(out / "passrate.jsonl")
    steps = [json.loads(line) for line in (out / "grpo" / "metrics.jsonl").read_text().splitlines()]
    assert any("curriculum/target_mean" in s for s in steps)

    assert (out / "training.png").stat().st_size > 0
    printed = capsys.readouterr().out
    assert "SFT+GRPO" in printed and str(out / "summary.json") in printed


def test_a_bad_override_fails_before_the_previous_demo_is_cleared(tmp_path):
    out = tmp_path / "demo"
    out.mkdir()
    (out / "stale.txt").write_text("from an earlier run")
    with pytest.raises(ConfigError, match="grpo.learning_rat"):
        run_demo(REPO / "configs" / "tiny-cpu.yaml", out, ["grpo.learning_rat=1e-4"])
    assert (out / "stale.txt").exists()  # a typo costs nothing: the old demo is still there


@pytest.mark.parametrize("name", [".", "runs"])
def test_the_demo_never_deletes_a_directory_it_did_not_write(tmp_path, monkeypatch, name):
    # The input that broke it (issue 13): `rlkd demo --out .` or `--out runs` ran shutil.rmtree on the user's dir.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "my-run.txt").write_text("a week of training")
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match=r"is not empty and is not an earlier demo's \(it has no .rlkd-demo\)"):
        run_demo(REPO / "configs" / "tiny-cpu.yaml", name, FAST)
    assert (tmp_path / "runs" / "my-run.txt").read_text() == "a week of training"
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_a_marked_demo_dir_loses_only_the_demo_outputs(tmp_path):
    from rlkd.commands.demo import DEMO_MARKER, claim_output_dir

    out = tmp_path / "demo"
    claim_output_dir(out)  # a new dir: created and marked
    assert (out / DEMO_MARKER).is_file()
    (out / "grpo" / "checkpoint-2").mkdir(parents=True)  # what an earlier demo wrote
    (out / "summary.json").write_text("{}")
    (out / "my-notes.md").write_text("kept")  # what the user put there afterwards
    claim_output_dir(out)
    assert sorted(p.name for p in out.iterdir()) == [DEMO_MARKER, "my-notes.md"]


def _run_record(folder):
    """The W&B run record (name, group) of an offline run folder, read with rlkd's reader of W&B's log."""
    from wandb.proto import wandb_internal_pb2 as pb

    from rlkd.training.wandb_runs import read_records

    (log,) = folder.glob("run-*.wandb")
    for raw in read_records(log):
        record = pb.Record()
        record.ParseFromString(raw)
        if record.WhichOneof("record_type") == "run":
            return record.run
    raise AssertionError(f"no run record in {log}")


def test_the_demo_console_is_short_its_wandb_runs_are_one_group_and_two_runs_agree(tmp_path):
    # The whole console of a demo run: stage banners, one progress line per stage, the table; what the libraries
    # print per step (a 40-key dict each, 670 KB for the full demo) stays in metrics.jsonl and W&B.
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(REPO), "WANDB_MODE": "offline"}
    fast = [*FAST, "wandb.completions_every=1"]
    summaries = []
    for run in ("first", "second"):
        out = tmp_path / run
        proc = subprocess.run(
            [sys.executable, "-m", "rlkd.cli", "demo", "--out", str(out), *fast],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        console = proc.stdout + proc.stderr
        if run == "first":
            lines = console.splitlines()
            assert len(lines) <= 200 and len(console.encode()) <= 30_000, (len(lines), len(console.encode()))
            assert sum("== " in line for line in lines) == 6  # a banner per stage
            assert any(line.startswith("grpo ") and "reward" in line for line in lines)  # the stage's progress line
            assert "'loss'" not in console  # no per-step metric dicts
        summaries.append((out / "summary.json").read_text())
    assert summaries[0] == summaries[1]  # the same machine, the same summary, byte for byte

    # every stage's W&B run is in the demo's group, under the stage's name
    out = tmp_path / "second"
    runs = {}
    for folder in out.rglob("offline-run-*"):
        record = _run_record(folder)
        runs[record.display_name] = record.run_group
    assert set(runs) == {"sft", "before-eval", "grpo", "after-eval"}, runs
    assert len(set(runs.values())) == 1 and next(iter(runs.values())).startswith("demo-")
    # and GRPO logged its completions table (TRL's, at wandb.completions_every) with rlkd's columns
    (grpo_run,) = (out / "grpo" / "wandb").glob("offline-run-*")
    tables = list(grpo_run.rglob("completions_*.table.json"))
    assert tables, "no completions table in the GRPO run"
    columns = json.loads(tables[0].read_text())["columns"]
    assert {"prompt", "completion", "mode", "pass_rate_estimate", "advantage"} <= set(columns)
