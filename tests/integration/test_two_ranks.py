"""Two CPU ranks under `accelerate launch` keep one record of a run, and a kill -9 then `--resume` continues it
exactly: the rewards after the resume, and the curriculum state on both ranks, equal an uninterrupted two-rank run's.

Before: every rank started its own W&B run (two offline runs, one empty), both raced to write rlkd_run.json, every
log line printed twice, and `--resume` died in transformers' optimizer loading ("don't know how to restore data
location of torch.storage.UntypedStorage (tagged with cpu:0)"). Three launches of two ranks plus one single-process
run: kept to 4 short steps, as the box is shared."""

import json
import os
import subprocess
import sys

import pytest
import yaml

from rlkd.io import read_jsonl
from tests.integration.launch import LAUNCH_TIMEOUT, REPO, accelerate_launch
from tests.integration.test_resume import KILLER

WORKER = str(REPO / "tests" / "integration" / "rank_state_worker.py")
REWARD_KEYS = ("reward", "rewards/accuracy/mean", "rewards/format/mean", "completions/mean_length", "loss")


# the curriculum whose state must stay identical on both ranks, across the resume: online pass rates, and with
# refill also the extra prompts each refill round draws (thirds: every third prompt settled, the rest informative)
CURRICULA = {
    "online": ({"name": "online"}, []),
    "refill": (
        {"name": "online", "dynamic_sampling": "refill", "reward": "killer_mod:thirds"},
        [{"name": "killer_mod:thirds", "weight": 1.0}],
    ),
}


def _config(tiny_config, tmp_path, name, curriculum="online", **grpo):
    raw = yaml.safe_load(tiny_config.read_text())
    raw["rewards"].append({"name": "killer_mod:killer", "weight": 0.0, "isolate": False})
    raw["curriculum"], extra_rewards = CURRICULA[curriculum]
    raw["rewards"] += extra_rewards
    raw["data"]["thinking"] = "on"  # one reasoning mode: the per-mode metric keys do not depend on the draw
    raw["grpo"].update(
        {
            "output_dir": str(tmp_path / name),
            "max_steps": 4,
            "save_steps": 2,
            "logging_steps": 1,
            "per_device_train_batch_size": 4,  # x 2 ranks = 8 completions = 2 prompts x 4 generations per step
            "use_cpu": True,
            **grpo,
        }
    )
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _two_ranks(config, tmp_path, *extra, kill_after=None):
    env = {"PYTHONPATH": os.pathsep.join([str(REPO), str(tmp_path)]), "RANK_STATE_DIR": str(config.with_suffix(""))}
    if kill_after is not None:
        env["KILL_AFTER_STEP"] = str(kill_after)
    config.with_suffix("").mkdir(exist_ok=True)
    return accelerate_launch(WORKER, "train", str(config), *extra, env_extra=env)


def _rank_states(config):
    return [json.loads((config.with_suffix("") / f"rank{r}.json").read_text()) for r in (0, 1)]


def _by_step(run_dir):
    return {
        r["step"]: tuple(r[k] for k in REWARD_KEYS) for r in read_jsonl(run_dir / "metrics.jsonl") if "reward" in r
    }


def _keys(run_dir):
    return set().union(*(r.keys() for r in read_jsonl(run_dir / "metrics.jsonl")))


@pytest.mark.parametrize("curriculum", list(CURRICULA))
def test_two_ranks_keep_one_record_and_resume_exactly(tiny_config, tmp_path, curriculum):
    (tmp_path / "killer_mod.py").write_text(KILLER)
    straight = _config(tiny_config, tmp_path, "straight", curriculum)
    killed = _config(tiny_config, tmp_path, "killed", curriculum)

    done = _two_ranks(straight, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    run = tmp_path / "straight"
    # One record: one W&B run (offline here), its id in rlkd_run.json, each log line once, each step once.
    runs = list((run / "wandb").glob("offline-run-*"))
    assert len(runs) == 1, runs
    assert runs[0].name.endswith(json.loads((run / "rlkd_run.json").read_text())["wandb_run_id"])
    assert sum(line.startswith("run finished:") for line in done.stderr.splitlines()) == 1
    assert [r["step"] for r in read_jsonl(run / "metrics.jsonl") if "reward" in r] == [1, 2, 3, 4]
    assert (run / "model.safetensors").is_file() and (run / "config.resolved.yaml").is_file()
    # Both ranks end with the same curriculum (sampler position and history, pass-rate table).
    r0, r1 = _rank_states(straight)
    assert r0 == r1 and r0["step"] == 4
    observed = sum(r0["curriculum"]["table"]["observations"])
    assert observed == 8 if curriculum == "online" else observed > 8  # refill rounds observe their extra prompts

    # The same metric keys as a single process with the same global batch (8 completions per step).
    single = _config(tiny_config, tmp_path, "single", curriculum, use_cpu=False, per_device_train_batch_size=8)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(tmp_path)]), "OMP_NUM_THREADS": "1"}
    one = subprocess.run(
        [sys.executable, "-m", "rlkd.cli", "train", str(single)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=LAUNCH_TIMEOUT,
    )
    assert one.returncode == 0, one.stderr[-3000:]
    assert _keys(run) == _keys(tmp_path / "single")

    # kill -9 while generating for step 4 (both ranks): checkpoint-2 is complete, step 3 was logged and is lost.
    proc = _two_ranks(killed, tmp_path, kill_after=3)
    assert proc.returncode != 0
    assert (tmp_path / "killed" / "checkpoint-2" / "trainer_state.json").exists()
    assert not (tmp_path / "killed" / "checkpoint-4").exists()

    resumed = _two_ranks(killed, tmp_path, "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "don't know how to restore data location" not in resumed.stderr
    expected, got = _by_step(run), _by_step(tmp_path / "killed")
    assert sorted(got) == [1, 2, 3, 4]  # step 3, logged before the kill, is not logged twice
    for step in (3, 4):
        assert got[step] == expected[step], f"step {step}: resumed {got[step]} != uninterrupted {expected[step]}"
    k0, k1 = _rank_states(killed)
    assert k0 == k1 == r0  # both ranks resumed the curriculum, and it ends where the uninterrupted run's did
    ids = {p.name.rsplit("-", 1)[-1] for p in (tmp_path / "killed" / "wandb").glob("offline-run-*")}
    assert len(ids) == 1  # the resumed run continued the interrupted run's W&B id, from the main process only
