"""Kill -9 a run after a checkpoint, resume it, and get the same rewards as a run that was never interrupted."""

import os
import signal
import subprocess
import sys

import pytest
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


def thirds(completions, curriculum_index, **kwargs):
    # every third prompt settled, the others vary within their group: refill has work to do
    return [1.0 if i % 3 == 0 else float(j % 2) for j, i in enumerate(curriculum_index)]
"""

# The same kill -9 with dynamic sampling that refills: its extra prompts come from the curriculum's RNG and reuse
# state, so the resumed run must draw the same extras as the uninterrupted one.
REFILL = {
    "curriculum": {"name": "online", "dynamic_sampling": "refill", "reward": "killer_mod:thirds"},
    "rewards": [{"name": "killer_mod:thirds", "weight": 1.0}],
}


def _config(tiny_config, tmp_path, name, extra=None):
    raw = yaml.safe_load(tiny_config.read_text())
    for section, value in (extra or {}).items():
        raw[section] = {**raw[section], **value} if isinstance(value, dict) else [*raw[section], *value]
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


KEYS = ("reward", "rewards/accuracy/mean", "rewards/format/mean", "completions/mean_length")
REFILL_KEYS = (*KEYS, "rewards/thirds/mean", "dynamic_sampling/rounds", "dynamic_sampling/generated_groups")


def _rewards_by_step(run_dir, keys=KEYS):
    return {r["step"]: tuple(r[k] for k in keys) for r in read_jsonl(run_dir / "metrics.jsonl") if "reward" in r}


@pytest.mark.parametrize("extra, keys", [(None, KEYS), (REFILL, REFILL_KEYS)], ids=["plain", "refill"])
def test_kill9_then_resume_matches_uninterrupted_run(tiny_config, tmp_path, extra, keys):
    (tmp_path / "killer_mod.py").write_text(KILLER)
    straight = _config(tiny_config, tmp_path, "straight", extra)
    killed = _config(tiny_config, tmp_path, "killed", extra)

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

    expected, got = _rewards_by_step(tmp_path / "straight", keys), _rewards_by_step(tmp_path / "killed", keys)
    assert sorted(got) == [1, 2, 3, 4, 5, 6]  # step 4, logged before the kill, is not logged twice
    for step in (4, 5, 6):
        assert got[step] == expected[step], f"step {step}: resumed {got[step]} != uninterrupted {expected[step]}"
    if extra is REFILL:
        rounds = [expected[step][keys.index("dynamic_sampling/rounds")] for step in (4, 5, 6)]
        assert any(r > 0 for r in rounds), "no refill round after the resume point: the case lost its point"

    # The resumed run continues the same W&B run (offline: one run id, two run folders with that id).
    run_ids = {p.name.rsplit("-", 1)[-1] for p in (tmp_path / "killed" / "wandb").glob("offline-run-*")}
    assert len(run_ids) == 1
