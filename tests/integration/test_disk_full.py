"""A disk that fills while a checkpoint is saved: one line naming the device, the bytes needed and the checkpoint to
resume from; once the disk is grown, `--resume` skips the torn checkpoint, names it, and finishes the run.

The disk is a real size-limited file system: a tmpfs mounted for the test (root only; skipped elsewhere), filled
by a weight-0 plug-in reward once checkpoint-1 is saved, so checkpoint-2 is the save that runs out of space.
"""

import shutil
import subprocess

import pytest
import yaml

from rlkd.io import read_jsonl
from rlkd.training.checkpoints import checkpoint_problem, checkpoints
from rlkd.training.disk import tree_bytes
from tests.conftest import rlkd_train

FILLER = """
import os

def filler(completions, trainer_state=None, **kwargs):
    disk = os.environ.get("FILL_DISK")
    if disk and trainer_state is not None and trainer_state.global_step >= 1 and not os.path.exists(disk + "/fill"):
        st = os.statvfs(disk)
        with open(disk + "/fill", "wb") as f:  # leave LEAVE_BYTES free: less than a checkpoint
            f.write(b"\\0" * max(0, st.f_bavail * st.f_frsize - int(os.environ["LEAVE_BYTES"])))
    return [0.0] * len(completions)
"""


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command")
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {made.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_full_disk_mid_save_then_resume_after_growing_it(tiny_config, tmp_path, small_disk):
    (tmp_path / "filler_mod.py").write_text(FILLER)
    raw = yaml.safe_load(tiny_config.read_text())
    raw["rewards"].append({"name": "filler_mod:filler", "weight": 0.0})
    raw["wandb"] = {"mode": "disabled"}  # W&B's own files on a full disk are not what this test is about
    run = small_disk / "run"
    raw["grpo"].update(output_dir=str(run), max_steps=3, save_steps=1, logging_steps=1)
    config = tmp_path / "full.yaml"
    config.write_text(yaml.safe_dump(raw))

    full = rlkd_train(config, env_extra={"FILL_DISK": str(small_disk), "LEAVE_BYTES": str(512 * 1024)})
    assert full.returncode == 1, full.stderr[-3000:]
    assert "Traceback" not in full.stderr  # torch.save's `unexpected pos ...` is not what the user reads
    last = next(line for line in reversed(full.stderr.splitlines()) if line.startswith("rlkd: error:"))
    needed = tree_bytes(run / "checkpoint-1")  # the estimate: the size of the last complete checkpoint
    assert last.startswith("rlkd: error: training stopped at step 2: no space left on tmpfs")
    assert f"mounted on {small_disk}" in last and f"({needed} bytes)" in last and "while saving checkpoint-2" in last
    assert f"the latest checkpoint is {run / 'checkpoint-1'}" in last and "--resume" in last
    assert checkpoint_problem(run / "checkpoint-2") is not None  # torn, and known to be

    grown = subprocess.run(["mount", "-o", "remount,size=96m", str(small_disk)], capture_output=True)
    assert grown.returncode == 0, grown.stderr
    resumed = rlkd_train(config, "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"skipping {run / 'checkpoint-2'}" in resumed.stderr and "resuming from" in resumed.stderr
    assert f"{run / 'checkpoint-1'}" in resumed.stderr.split("resuming from", 1)[1].splitlines()[0]
    steps = [r["step"] for r in read_jsonl(run / "metrics.jsonl") if "reward" in r]
    assert steps == [1, 2, 3]  # step 2, logged before the failed save, is not logged twice
    kept = checkpoints(run)  # save_total_limit: 2 rotated checkpoint-1 out once checkpoint-3 was saved
    assert [c.name for c in kept] == ["checkpoint-2", "checkpoint-3"]
    assert all(checkpoint_problem(c) is None for c in kept)  # checkpoint-2 saved anew, complete
    assert (run / "model.safetensors").exists()
