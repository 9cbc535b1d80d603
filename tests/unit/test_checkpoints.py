"""Which checkpoint is complete, and what `rlkd train` does with an output dir (rlkd.training.checkpoints), on
checkpoint folders laid out the way transformers and RLKDTrainer write them, torn the ways a kill or a full disk
tears them. The real-save versions are tests/integration/test_resume.py and test_disk_full.py."""

import errno
import json
import logging

import pytest

from rlkd.errors import ConfigError
from rlkd.training.checkpoints import (
    COMPLETE_MARKER,
    RUN_STATE,
    checkpoint_problem,
    finalize_from_checkpoint,
    latest_complete_checkpoint,
    mark_complete,
    plan_run,
    update_run_state,
)
from rlkd.training.disk import DiskFull, _mount_of, disk_full_error


def make_checkpoint(out, step, marked=True):
    ckpt = out / f"checkpoint-{step}"
    ckpt.mkdir(parents=True)
    (ckpt / "model.safetensors").write_bytes(b"w" * 64)
    (ckpt / "config.json").write_text("{}")
    (ckpt / "optimizer.pt").write_bytes(b"o" * 128)
    (ckpt / "rlkd_state.json").write_text(json.dumps({"global_step": step}))
    (ckpt / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    if marked:
        mark_complete(ckpt)
    return ckpt


def _empty_trainer_state(ckpt):
    (ckpt / "trainer_state.json").write_text("")


def _short_optimizer(ckpt):
    (ckpt / "optimizer.pt").write_bytes(b"o" * 10)


def _missing_weights(ckpt):
    (ckpt / "model.safetensors").unlink()


def _garbage_marker(ckpt):
    (ckpt / COMPLETE_MARKER).write_text('{"files": ')


@pytest.mark.parametrize(
    "marked, tear, problem",
    [
        (True, None, None),  # every file the marker lists, at its size
        (True, _short_optimizer, "optimizer.pt is 10 bytes, 128 were written"),  # a file changed after the save
        (True, _missing_weights, "model.safetensors is missing"),
        (True, _garbage_marker, "rlkd_complete.json does not parse"),  # a marker torn by hand: not trusted
        (False, _empty_trainer_state, "trainer_state.json is empty"),  # the full-disk fault: a 0-byte state file
        (False, None, None),  # written before rlkd had a marker: its JSON state parses and its weights are there
        (False, _missing_weights, "no model weights"),
    ],
)
def test_checkpoint_problem(tmp_path, marked, tear, problem):
    ckpt = make_checkpoint(tmp_path, 2, marked=marked)
    if tear is not None:
        tear(ckpt)
    found = checkpoint_problem(ckpt)
    assert (found is None) if problem is None else (found is not None and found.startswith(problem))


def test_resume_skips_a_torn_newer_checkpoint_and_names_it(tmp_path, caplog):
    make_checkpoint(tmp_path, 2)
    torn = make_checkpoint(tmp_path, 4, marked=False)
    _empty_trainer_state(torn)  # the newest checkpoint, as a full disk left it
    with caplog.at_level(logging.WARNING):
        plan = plan_run(tmp_path, resume=True, restart=False, max_steps=10)
    assert plan.checkpoint == tmp_path / "checkpoint-2" and plan.finished is None
    assert f"skipping {torn}: trainer_state.json is empty" in caplog.text
    assert latest_complete_checkpoint(tmp_path) == tmp_path / "checkpoint-2"  # what a failure message names


def test_resume_with_only_a_torn_checkpoint_is_an_error(tmp_path):
    _empty_trainer_state(make_checkpoint(tmp_path, 2, marked=False))
    with pytest.raises(ConfigError, match=r"no complete checkpoint \(checkpoint-2: trainer_state.json is empty\)"):
        plan_run(tmp_path, resume=True, restart=False, max_steps=10)


def test_resume_of_a_run_that_died_before_its_first_checkpoint_is_an_error(tmp_path):
    (tmp_path / "metrics.jsonl").write_text('{"step": 1, "loss": 0.5}\n')  # starting over would log step 1 twice
    with pytest.raises(ConfigError, match="none was saved.*--restart"):
        plan_run(tmp_path, resume=True, restart=False, max_steps=10)


def test_resume_of_an_empty_dir_starts_the_run(tmp_path):
    # a pre-emption script that always passes --resume works on its first launch
    assert plan_run(tmp_path / "new", resume=True, restart=False, max_steps=10).checkpoint is None


def test_without_resume_a_run_is_protected(tmp_path):
    (tmp_path / "metrics.jsonl").write_text('{"step": 1}\n')  # a run without checkpoints still has records
    with pytest.raises(ConfigError, match=r"already holds a run's records \(metrics.jsonl\)"):
        plan_run(tmp_path, resume=False, restart=False, max_steps=10)


@pytest.mark.parametrize(
    "max_steps, finished, extends",
    [
        (6, 6, False),  # resumed as configured: nothing to train
        (4, 6, False),  # lowering max_steps does not retrain either
        (8, 6, True),  # raised on purpose: continue from the last checkpoint
    ],
)
def test_a_finished_run(tmp_path, max_steps, finished, extends):
    make_checkpoint(tmp_path, 6)
    update_run_state(tmp_path, wandb_run_id="abc", finished_step=finished)
    plan = plan_run(tmp_path, resume=True, restart=False, max_steps=max_steps)
    if extends:
        assert plan.finished is None and plan.checkpoint == tmp_path / "checkpoint-6"
    else:
        expected = f"already finished at step 6 (grpo.max_steps {max_steps}): nothing to train; raise grpo.max_steps"
        assert plan.finished.endswith(f"{expected} to extend it")


def test_killed_after_the_last_checkpoint_saves_the_final_model_from_it(tmp_path):
    ckpt = make_checkpoint(tmp_path, 6)
    plan = plan_run(tmp_path, resume=True, restart=False, max_steps=6)  # no finished step recorded
    assert plan.finalize and plan.checkpoint == ckpt and "already finished at step 6" in plan.finished
    finalize_from_checkpoint(ckpt, tmp_path)
    assert (tmp_path / "model.safetensors").read_bytes() == b"w" * 64 and (tmp_path / "config.json").exists()
    assert not (tmp_path / "optimizer.pt").exists() and not (tmp_path / "trainer_state.json").exists()


def test_restart_empties_the_records_of_an_attempt_without_a_checkpoint(tmp_path):
    torn = make_checkpoint(tmp_path, 2, marked=False)
    _empty_trainer_state(torn)
    (tmp_path / "metrics.jsonl").write_text('{"step": 1}\n{"step": 2}\n')
    update_run_state(tmp_path, wandb_run_id="old")
    attempt = tmp_path / "wandb" / "offline-run-20260101_000000-old"
    attempt.mkdir(parents=True)
    (attempt / "run-old.wandb").write_bytes(b"")
    assert plan_run(tmp_path, resume=False, restart=True, max_steps=10).checkpoint is None
    assert (tmp_path / "metrics.jsonl").read_text() == "" and not torn.exists()
    assert not (tmp_path / RUN_STATE).exists() and not attempt.exists()  # the new run gets a new W&B run


def test_restart_never_discards_a_complete_checkpoint(tmp_path):
    make_checkpoint(tmp_path, 2)
    with pytest.raises(ConfigError, match=r"holds complete checkpoints \(latest: checkpoint-2\).*--resume"):
        plan_run(tmp_path, resume=False, restart=True, max_steps=10)
    assert (tmp_path / "checkpoint-2").exists()


def test_disk_full_names_the_device_and_the_bytes(tmp_path):
    error = OSError(errno.ENOSPC, "No space left on device")
    full = disk_full_error(RuntimeError("unexpected pos 64 vs 0"), tmp_path, 10**18, "checkpoint-4")
    assert isinstance(full, DiskFull)  # torch.save's message has no errno: fewer bytes free than needed is enough
    device, mount = _mount_of(tmp_path)
    assert f"no space left on {device} (mounted on {mount}) while saving checkpoint-4" in full.strerror
    assert "(1000000000000000000 bytes)" in full.strerror
    assert disk_full_error(error, tmp_path, 1, "checkpoint-4") is not None  # an ENOSPC is a full disk, always
    assert disk_full_error(RuntimeError("CUDA error"), tmp_path, 1, "checkpoint-4") is None  # not the disk


def test_mount_of_a_path_is_the_longest_mount_above_it():
    assert _mount_of(__import__("pathlib").Path("/proc/self")) == ("proc", "/proc")
