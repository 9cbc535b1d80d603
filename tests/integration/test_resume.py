"""Kill -9 a run after a checkpoint, resume it, and get the same rewards as a run that was never interrupted; resume a
finished run (nothing changes) and extend it; a run whose only checkpoint is torn is refused, then restarted."""

import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from rlkd.io import read_jsonl
from tests.conftest import rlkd_train

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
    os.environ.pop("KILL_AFTER_STEP", None)
    return rlkd_train(config, *extra, env_extra={"KILL_AFTER_STEP": str(kill_after)} if kill_after else None)


def wandb_history(run_dir):
    """train/global_step of every history row of the run's one offline W&B folder, read by W&B's own reader
    (`wandb leet inspect`, the Go code `wandb sync` uses), so a merged transaction log is checked by W&B itself."""
    folders = sorted((run_dir / "wandb").glob("offline-run-*"))
    assert len(folders) == 1, folders  # one folder per run, across resumes
    wandb_cli = Path(sys.executable).parent / "wandb"
    proc = subprocess.run(
        [str(wandb_cli), "leet", "inspect", "--json", str(folders[0])],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    records = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    items = [r["history"]["item"] for r in records if r.get("type") == "history"]
    assert [i["_step"] for i in items] == list(range(len(items)))  # W&B's own step counter never repeats
    return items


def wandb_reward_steps(run_dir):
    """The optimizer step of each logged training step (the rows with the reward) in the run's W&B history."""
    return [i["train/global_step"] for i in wandb_history(run_dir) if "train/reward" in i]


STEP = "train/global_step"


def _key_counts(run_dir):
    from collections import Counter

    items = wandb_history(run_dir)
    return Counter((i["train/global_step"], k) for i in items for k in i if k.startswith("train/") and k != STEP)


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


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

    # The resumed run continues the same W&B run in the same folder; synced, each step is there once (step 4,
    # logged by the killed run and again after the resume, too).
    assert wandb_reward_steps(tmp_path / "killed") == [1, 2, 3, 4, 5, 6]
    # and nothing else twice: no metric (timings included) logged at a step more often than in the uninterrupted
    # run. (Fewer is possible: a kill loses the offline log's unwritten tail; the lost log rows of steps up to the
    # checkpoint are logged again from metrics.jsonl, timings are not.)
    killed_counts, straight_counts = _key_counts(tmp_path / "killed"), _key_counts(tmp_path / "straight")
    assert not killed_counts - straight_counts, killed_counts - straight_counts

    # A finished run resumed is a no-op, however often: no step 7, no new checkpoint, the final model unchanged.
    run = tmp_path / "straight"
    model, metrics = _sha(run / "model.safetensors"), (run / "metrics.jsonl").read_text()
    for _ in range(2):
        again = _train(straight, "--resume")
        assert again.returncode == 0, again.stderr[-3000:]
        assert "already finished at step 6" in again.stderr and "raise grpo.max_steps" in again.stderr
        assert _sha(run / "model.safetensors") == model and (run / "metrics.jsonl").read_text() == metrics
        assert not (run / "checkpoint-7").exists() and len(list((run / "wandb").glob("offline-run-*"))) == 1

    # Raising max_steps on purpose extends it: steps 7 and 8, each logged once, in the same W&B run.
    extended = _train(straight, "--resume", "grpo.max_steps=8")
    assert extended.returncode == 0, extended.stderr[-3000:]
    steps = [r["step"] for r in read_jsonl(run / "metrics.jsonl") if "reward" in r]
    assert steps == [1, 2, 3, 4, 5, 6, 7, 8]
    assert _sha(run / "model.safetensors") != model
    assert wandb_reward_steps(run) == [1, 2, 3, 4, 5, 6, 7, 8]


def test_resume_with_only_a_torn_checkpoint_is_refused_then_restarted(tiny_config, tmp_path):
    # The full-disk fault's leftovers: checkpoint-3 with a 0-byte trainer_state.json, and steps 1-4 logged.
    (tmp_path / "killer_mod.py").write_text(KILLER)
    config = _config(tiny_config, tmp_path, "torn")
    run = tmp_path / "torn"
    proc = _train(config, kill_after=4)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
    (run / "checkpoint-3" / "trainer_state.json").write_text("")
    (run / "checkpoint-3" / "rlkd_complete.json").unlink()  # as a save cut short before its last write leaves it

    resumed = _train(config, "--resume")
    assert resumed.returncode == 2
    last = resumed.stderr.strip().splitlines()[-1]
    assert last.startswith("rlkd: error: --resume:") and "no complete checkpoint" in last
    assert "checkpoint-3: trainer_state.json is empty" in last and "--restart" in last
    assert "Traceback" not in resumed.stderr

    restarted = _train(config, "--restart")
    assert restarted.returncode == 0, restarted.stderr[-3000:]
    steps = [r["step"] for r in read_jsonl(run / "metrics.jsonl") if "reward" in r]
    assert steps == [1, 2, 3, 4, 5, 6]  # step 1 once: the records of the attempt were emptied
    assert wandb_reward_steps(run) == [1, 2, 3, 4, 5, 6]  # the attempt's W&B run was removed too
