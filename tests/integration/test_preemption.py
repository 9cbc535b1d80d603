"""Pre-emption and guarded output dirs, through real `rlkd train` processes on the tiny model.

The inputs that broke it (issue 13): SIGTERM (what schedulers send) exited 143 silently and Ctrl-C printed a
37-frame traceback, neither saving a checkpoint; two runs wrote one output dir at once; a resume with a changed
learning rate was accepted and trained at the checkpoint's rate."""

import os
import re
import shlex
import subprocess
import sys
import time

import pytest
import yaml

from rlkd.commands.train import run_training
from rlkd.config import ConfigError, load_config
from rlkd.io import read_jsonl
from tests.conftest import REPO
from tests.integration.test_resume import _rewards_by_step

# A weight-0 plug-in reward that sends its own process a signal once the given optimizer step is done (it runs in
# the next step's scoring), the way a scheduler or a Ctrl-C would arrive mid-run; once per process.
SIGNALLER = """
import os, signal

SENT = []

def signaller(completions, trainer_state=None, **kwargs):
    at, which = os.environ.get("SIGNAL_AFTER_STEP"), os.environ.get("SIGNAL", "SIGTERM")
    if at and not SENT and trainer_state is not None and trainer_state.global_step >= int(at):
        SENT.append(1)
        os.kill(os.getpid() if which == "SIGTERM" else -os.getpgid(0), getattr(signal, which))
    return [0.0] * len(completions)
"""

# Blocks its first call until a file appears: a run that holds its output dir while the test tries a second one.
BLOCKER = """
import os, time

def blocker(completions, **kwargs):
    while not os.path.exists(os.environ["RELEASE_FILE"]):
        time.sleep(0.1)
    return [0.0] * len(completions)
"""


def _config(tiny_config, tmp_path, name, reward, **grpo):
    raw = yaml.safe_load(tiny_config.read_text())
    # in the trainer's process: isolated (the default for plug-ins) its signal would reach only its worker
    raw["rewards"].append({"name": reward, "weight": 0.0, "isolate": False})
    raw["wandb"]["mode"] = "disabled"
    raw["grpo"].update(
        {"output_dir": str(tmp_path / name), "max_steps": 6, "save_steps": 100, "logging_steps": 1, **grpo}
    )
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _start(argv, tmp_path, **env_extra):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)]), **env_extra}
    # a session of its own: a Ctrl-C goes to the whole foreground process group, as a terminal sends it
    return subprocess.Popen(
        [sys.executable, "-m", "rlkd.cli", *argv], cwd=REPO, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip


def _run(argv, tmp_path, **env_extra):
    proc = _start(argv, tmp_path, **env_extra)
    out, err = proc.communicate(timeout=600)
    return proc.returncode, err


def _last_line(stderr: str) -> str:
    return [line for line in stderr.splitlines() if line.strip()][-1]


def _stop(config, tmp_path, which):
    """Train `config` with a signal arriving while step 4 samples; returns (exit code, stderr)."""
    return _run(["train", str(config), "grpo.logging_steps=1"], tmp_path, SIGNAL_AFTER_STEP="3", SIGNAL=which)


def test_sigterm_saves_a_checkpoint_and_the_printed_command_resumes_exactly(tiny_config, tmp_path):
    (tmp_path / "signal_mod.py").write_text(SIGNALLER)
    straight = _config(tiny_config, tmp_path, "straight", "signal_mod:signaller")
    stopped = _config(tiny_config, tmp_path, "stopped", "signal_mod:signaller")
    run_dir = tmp_path / "stopped"

    rc, err = _run(["train", str(straight)], tmp_path)
    assert rc == 0, err[-3000:]

    # step 4 finishes, is saved (save_steps 100 would not save it) and the run stops; the override given on the
    # command line comes back in the resume command
    rc, err = _stop(stopped, tmp_path, "SIGTERM")
    assert rc == 143, err[-3000:]  # 128 + SIGTERM, what schedulers expect
    assert "Traceback" not in err
    line = _last_line(err)
    assert line == (
        f"rlkd: stopped by SIGTERM after step 4: saved {run_dir / 'checkpoint-4'}; resume with "
        f"`rlkd train {stopped} grpo.logging_steps=1 --resume`"
    )
    assert (run_dir / "checkpoint-4" / "trainer_state.json").exists()
    assert not (run_dir / "model.safetensors").exists()  # a stopped run is not a finished one

    command = shlex.split(re.search(r"resume with `(.*)`$", line).group(1))
    assert command[:2] == ["rlkd", "train"]
    rc, err = _run(command[1:], tmp_path)  # exactly the printed command
    assert rc == 0, err[-3000:]

    expected, got = _rewards_by_step(tmp_path / "straight"), _rewards_by_step(run_dir)
    assert sorted(got) == [1, 2, 3, 4, 5, 6]
    for step in (5, 6):
        assert got[step] == expected[step], f"step {step}: resumed {got[step]} != uninterrupted {expected[step]}"


def test_ctrl_c_saves_a_checkpoint_without_a_traceback(tiny_config, tmp_path):
    # SIGINT to the whole process group, as a terminal sends it (math-verify's workers ignore it); resuming from
    # the checkpoint is the same path as after SIGTERM, tested above
    (tmp_path / "signal_mod.py").write_text(SIGNALLER)
    stopped = _config(tiny_config, tmp_path, "stopped", "signal_mod:signaller")
    rc, err = _stop(stopped, tmp_path, "SIGINT")
    assert rc == 130, err[-3000:]
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert _last_line(err).startswith(
        f"rlkd: stopped by Ctrl-C (SIGINT) after step 4: saved {tmp_path / 'stopped' / 'checkpoint-4'}; resume with"
    )


def test_a_second_writer_is_refused_and_a_dead_ones_lock_is_taken_over(tiny_config, tmp_path, monkeypatch):
    (tmp_path / "block_mod.py").write_text(BLOCKER)
    monkeypatch.syspath_prepend(str(tmp_path))
    release = tmp_path / "release"
    config = _config(tiny_config, tmp_path, "run", "block_mod:blocker", max_steps=2)
    first = _start(["train", str(config)], tmp_path, RELEASE_FILE=str(release))
    try:
        lock = tmp_path / "run" / "rlkd.lock"
        deadline = time.monotonic() + 300
        while not (tmp_path / "run" / "config.resolved.yaml").exists():  # it is past its checks, training
            assert first.poll() is None and time.monotonic() < deadline, first.communicate()[1][-3000:]
            time.sleep(0.2)
        assert lock.exists()

        rc, err = _run(["train", str(config)], tmp_path, RELEASE_FILE=str(release))
        assert rc == 2 and "Traceback" not in err
        assert f"is in use by pid {first.pid} on host" in _last_line(err)
        rc, err = _run(["validate", str(config)], tmp_path)
        assert rc == 2 and f"is in use by pid {first.pid}" in err

        first.kill()  # kill -9: the lock stays behind, its owner gone
        first.wait()
    finally:
        first.kill()
    release.touch()
    monkeypatch.setenv("RELEASE_FILE", str(release))
    out = run_training(load_config(config))  # in this process: the stale lock is taken over
    steps = [r["step"] for r in read_jsonl(out / "metrics.jsonl") if "loss" in r]
    assert steps == [1, 2]  # one writer's steps, not interleaved
    assert not lock.exists()  # released when the run ended


def test_a_resume_with_a_changed_learning_rate_is_refused(tiny_config, tmp_path):
    path = tiny_config
    first = load_config(
        path, ["grpo.max_steps=2", "grpo.save_steps=2", "grpo.learning_rate=1e-6", "wandb.mode=disabled"]
    )
    out = run_training(first)

    changed = load_config(
        path, ["grpo.max_steps=4", "grpo.save_steps=2", "grpo.learning_rate=5e-5", "wandb.mode=disabled"]
    )
    with pytest.raises(ConfigError, match=r"grpo.learning_rate: 1e-06 -> 5e-05"):
        run_training(changed, resume=True)
    with pytest.raises(ConfigError, match=r"grpo.learning_rate: 1e-06 -> 5e-05"):  # validate says so too
        from rlkd.commands.validate import validate

        validate(str(path), ["grpo.max_steps=4", "grpo.save_steps=2", "grpo.learning_rate=5e-5"], resume=True)

    longer = load_config(
        path, ["grpo.max_steps=4", "grpo.save_steps=2", "grpo.learning_rate=1e-6", "wandb.mode=disabled"]
    )
    run_training(longer, resume=True)  # max_steps is on the allow-list: running longer is a resume
    steps = [r["step"] for r in read_jsonl(out / "metrics.jsonl") if "loss" in r]
    assert steps == [1, 2, 3, 4]  # two steps, then two more from checkpoint-2
