"""The output-dir lock, the config check of a resume, and the resume command (rlkd.training.run_guard).

The inputs that broke it (issue 13): two runs wrote one output dir at once (metrics.jsonl read steps 1,1,2,2,3,3);
a 4-step run at lr 1e-6 resumed with lr 5e-5 trained on at the checkpoint's 1e-6 while config.resolved.yaml said
5e-5; and the failure hint "rlkd train configs/x.yaml --resume" resumed a different run when the run had used
`grpo.output_dir=...`."""

import json
import os
import socket
import subprocess
import sys

import pytest
import yaml

from rlkd.config import ConfigError, dump_yaml, parse_config
from rlkd.training.run_guard import (
    CONFIG_CHANGES,
    LOCK_FILE,
    OutputDirLock,
    check_not_locked,
    check_resume_config,
    config_diff,
    is_resume_safe,
    resume_command,
)


def test_resume_command_repeats_the_overrides():
    cmd = resume_command("configs/x.yaml", ["grpo.output_dir=runs/a b", "eval.pass_k=[1, 8]"])
    # quoted for a shell: pasting it resumes this run, not the config's default output dir
    assert cmd == "rlkd train configs/x.yaml 'grpo.output_dir=runs/a b' 'eval.pass_k=[1, 8]' --resume"
    assert resume_command(None) == "rlkd train CONFIG --resume"


# ---------------------------------------------------------------------------------------------------------------
# The lock


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_second_writer_is_refused_while_the_first_lives(tmp_path):
    out = tmp_path / "run"
    with OutputDirLock(out):
        owner = json.loads((out / LOCK_FILE).read_text())
        assert owner["pid"] == os.getpid() and owner["host"] == socket.gethostname()
        with pytest.raises(ConfigError, match=rf"is in use by pid {os.getpid()} on host {socket.gethostname()}"):
            OutputDirLock(out).acquire()
        with pytest.raises(ConfigError, match="`rlkd train` would refuse it"):
            check_not_locked(out)  # what rlkd validate checks
    assert not out.exists()  # the lock made the dir and nothing else was written: no empty run left behind


def test_a_live_process_of_another_run_holds_the_lock(tmp_path):
    out = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from rlkd.training.run_guard import OutputDirLock;"
         f"l = OutputDirLock({str(out)!r}); l.acquire(); print('locked', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(ConfigError, match=rf"in use by pid {holder.pid} "):
            OutputDirLock(out).acquire()
        holder.kill()  # kill -9: the lock file stays behind, stale
        holder.wait()
        assert (out / LOCK_FILE).exists()
        with OutputDirLock(out) as lock:  # taken over: its owner is gone
            assert json.loads((out / LOCK_FILE).read_text())["token"] == lock.token
    finally:
        holder.kill()


@pytest.mark.parametrize(
    "owner, taken_over",
    [
        ({"pid": "dead", "host": "this"}, True),  # the owner died (kill -9, OOM)
        ({"pid": os.getpid(), "host": "this", "process_start": "1"}, True),  # a live pid, but not the owner (reused)
        ({"pid": os.getpid(), "host": "this"}, False),  # the owner is alive
        ({"pid": 1, "host": "other-node"}, False),  # another host: cannot be checked from here, so it is refused
    ],
)
def test_stale_locks(tmp_path, owner, taken_over):
    owner = {**owner, "host": socket.gethostname() if owner["host"] == "this" else owner["host"]}
    if owner["pid"] == "dead":
        owner["pid"] = _dead_pid()
    (tmp_path / LOCK_FILE).write_text(json.dumps(owner))
    lock = OutputDirLock(tmp_path)
    if taken_over:
        lock.acquire()
        lock.release()
        assert not (tmp_path / LOCK_FILE).exists()
    else:
        with pytest.raises(ConfigError, match="cannot be checked from this host" if owner["pid"] == 1 else "in use"):
            lock.acquire()
        assert json.loads((tmp_path / LOCK_FILE).read_text()) == owner  # someone else's lock is never removed


# ---------------------------------------------------------------------------------------------------------------
# The config of a resume


def _cfg(tmp_path, **grpo):
    return parse_config(
        {
            "model": {"name_or_path": "m"},
            "data": {"generator": "some-task"},
            "rewards": [{"name": "accuracy"}, {"name": "format", "weight": 0.5}],
            "grpo": {"output_dir": str(tmp_path), "learning_rate": 1e-6, "max_steps": 4, **grpo},
        }
    )


@pytest.mark.parametrize(
    "key, safe",
    [
        ("grpo.max_steps", True),  # run longer
        ("grpo.save_steps", True),
        ("grpo.logging_steps", True),
        ("wandb.project", True),
        ("rewards.1.batch_timeout", True),
        ("grpo.learning_rate", False),  # the checkpoint's optimizer and scheduler would ignore it
        ("rewards.1.weight", False),  # changes the objective
        ("data.thinking", False),  # changes the data
        ("generation.temperature", False),  # changes what is sampled
    ],
)
def test_the_allow_list(key, safe):
    assert is_resume_safe(key) is safe


def test_a_changed_learning_rate_is_refused_and_forcing_is_recorded(tmp_path):
    (tmp_path / "config.resolved.yaml").write_text(dump_yaml(_cfg(tmp_path)))
    changed = _cfg(tmp_path, learning_rate=5e-5, max_steps=400)
    assert config_diff(yaml.safe_load(dump_yaml(_cfg(tmp_path))), yaml.safe_load(dump_yaml(changed))) == {
        "grpo.learning_rate": (1e-6, 5e-5),
        "grpo.max_steps": (4, 400),
    }
    with pytest.raises(ConfigError) as e:
        check_resume_config(tmp_path, changed, "config.resolved.yaml", step=4)
    message = str(e.value)
    assert "grpo.learning_rate: 1e-06 -> 5e-05" in message and "max_steps" not in message  # max_steps is allowed
    assert "--force-config-change" in message and "\n" not in message

    assert check_resume_config(tmp_path, _cfg(tmp_path, max_steps=400), "config.resolved.yaml", step=4) == {}
    forced = check_resume_config(tmp_path, changed, "config.resolved.yaml", step=4, force=True)
    assert forced == {"grpo.learning_rate": (1e-6, 5e-5)}
    record = json.loads((tmp_path / CONFIG_CHANGES).read_text())
    assert record["resumed_from_step"] == 4 and record["changes"] == {"grpo.learning_rate": [1e-6, 5e-5]}


def test_defaults_written_out_are_not_changes(tmp_path):
    saved = yaml.safe_load(dump_yaml(_cfg(tmp_path)))
    del saved["data"]["eval_seed"]  # a run saved before the setting existed
    # grpo.seed: 42 is TRL's default, so spelling it out changes nothing
    assert config_diff(saved, yaml.safe_load(dump_yaml(_cfg(tmp_path, seed=42)))) == {}


def test_docs_list_the_allow_list():
    # docs/resume.md is where users read what a resume may change: it must name every pattern, and no other
    import re
    from pathlib import Path

    from rlkd.training.run_guard import RESUME_SAFE_KEYS

    table = Path(__file__).resolve().parents[2].joinpath("docs", "resume.md").read_text().split("| key (pattern)")[1]
    table = table.split("\n\n")[0]
    documented = {k for row in table.splitlines()[2:] for k in re.findall(r"`([^`]+)`", row.split("|")[1])}
    assert documented == set(RESUME_SAFE_KEYS)
