"""Kill -9 a run after a checkpoint, resume it, and get the same rewards as a run that was never interrupted."""

import os
import signal
import subprocess
import sys

import yaml

from rlkd.io import read_jsonl
from tests.conftest import REPO

# A weight-0 plug-in reward (it never changes an advantage) that SIGKILLs its own process once the given optimizer
# step is done: a kill -9 in the middle of a run, at a point the test controls.
KILLER = """
import os, signal

def killer(completions, trainer_state=None, **kwargs):
    at = os.environ.get("KILL_AFTER_STEP")
    if at and trainer_state is not None and trainer_state.global_step >= int(at):
        os.kill(os.getpid(), signal.SIGKILL)
    return [0.0] * len(completions)
"""


def _config(tiny_config, tmp_path, name):
    raw = yaml.safe_load(tiny_config.read_text())
    # in the trainer's process: isolated (the default for plug-ins) it would kill only its worker, and the run survive
    raw["rewards"].append({"name": "killer_mod:killer", "weight": 0.0, "isolate": False})
    raw["grpo"].update(output_dir=str(tmp_path / name), max_steps=6, save_steps=3, logging_steps=1)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _train(config, *extra, kill_after=None):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(config.parent), os.environ.get("PYTHONPATH", "")])}
    env.pop("KILL_AFTER_STEP", None)
    if kill_after is not None:
        env["KILL_AFTER_STEP"] = str(kill_after)
    return subprocess.run(
        [sys.executable, "-m", "rlkd.cli", "train", str(config), *extra],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _rewards_by_step(run_dir):
    keys = ("reward", "rewards/accuracy/mean", "rewards/format/mean", "completions/mean_length")
    return {r["step"]: tuple(r[k] for k in keys) for r in read_jsonl(run_dir / "metrics.jsonl") if "reward" in r}


def test_kill9_then_resume_matches_uninterrupted_run(tiny_config, tmp_path):
    (tmp_path / "killer_mod.py").write_text(KILLER)
    straight = _config(tiny_config, tmp_path, "straight")
    killed = _config(tiny_config, tmp_path, "killed")

    done = _train(straight)
    assert done.returncode == 0, done.stderr[-3000:]

    # Killed while generating for step 5: checkpoint-3 is complete, step 4 was logged and is lost work.
    proc = _train(killed, kill_after=4)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
    assert (tmp_path / "killed" / "checkpoint-3" / "trainer_state.json").exists()
    assert not (tmp_path / "killed" / "checkpoint-6").exists()

    # Without --resume the existing run is protected.
    again = _train(killed)
    assert again.returncode == 2 and "pass --resume" in again.stderr

    resumed = _train(killed, "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]

    expected, got = _rewards_by_step(tmp_path / "straight"), _rewards_by_step(tmp_path / "killed")
    assert sorted(got) == [1, 2, 3, 4, 5, 6]  # step 4, logged before the kill, is not logged twice
    for step in (4, 5, 6):
        assert got[step] == expected[step], f"step {step}: resumed {got[step]} != uninterrupted {expected[step]}"

    # The resumed run continues the same W&B run (offline: one run id, two run folders with that id).
    run_ids = {p.name.rsplit("-", 1)[-1] for p in (tmp_path / "killed" / "wandb").glob("offline-run-*")}
    assert len(run_ids) == 1
