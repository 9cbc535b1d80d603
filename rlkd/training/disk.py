"""A full disk, said in one line: which device, how many bytes the save needed, how many were free.

torch.save on a full disk raises `unexpected pos ...` and safetensors `IoError(... StorageFull ...)`, neither with a
word of the disk, and a user then hunts for the cause. `disk_full_error` recognises a failed save on a full disk (an
ENOSPC/EDQUOT anywhere in the exception chain, or fewer bytes free than the checkpoint needs) and returns a
`DiskFull` whose message names the mount, the bytes needed and free; rlkd.commands.train adds the checkpoint to
resume from.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path


class DiskFull(OSError):
    """Saving ran out of disk space; the message is one line naming the device and the bytes."""


def _mount_of(path: Path) -> tuple[str, str]:
    """(device, mount point) of the file system holding `path`: the longest mount point above it in
    /proc/self/mounts (Linux); elsewhere the path itself."""
    path = path.resolve()
    try:
        lines = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return str(path), str(path)
    best = (str(path), "")
    for line in lines:
        parts = line.split()
        if len(parts) < 2:
            continue
        device, mount = parts[0], parts[1].replace("\\040", " ")
        if (path == Path(mount) or Path(mount) in path.parents) and len(mount) > len(best[1]):
            best = (device, mount)
    return best if best[1] else (str(path), str(path))


def free_bytes(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def _is_enospc(error: BaseException | None) -> bool:
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        error = error.__cause__ or error.__context__
    return False


def human(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"


def disk_full_error(error: BaseException, target: Path, needed: int, what: str) -> DiskFull | None:
    """A DiskFull for `error` raised while writing `needed` bytes of `what` under `target`, or None when the disk
    was not the cause."""
    existing = target if target.exists() else next((p for p in target.parents if p.exists()), Path("/"))
    try:
        free = free_bytes(existing)
    except OSError:
        return None
    if not _is_enospc(error) and free >= needed:
        return None
    device, mount = _mount_of(existing)
    return DiskFull(
        errno.ENOSPC,
        f"no space left on {device} (mounted on {mount}) while saving {what}: it needs about {human(needed)} "
        f"({needed} bytes), {human(free)} are free; free space or move grpo.output_dir",
    )


def describe(error: BaseException, target: Path) -> str | None:
    """One line for an ENOSPC raised anywhere in a run (a log record, a W&B file), or None."""
    if isinstance(error, DiskFull):
        return error.strerror
    if not _is_enospc(error):
        return None
    existing = target if target.exists() else Path("/")
    device, mount = _mount_of(existing)
    try:
        free = human(free_bytes(existing))
    except OSError:
        free = "unknown"
    return f"no space left on {device} (mounted on {mount}; {free} free): free space or move grpo.output_dir"


def tree_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def state_bytes(model, optimizer) -> int:
    """What a checkpoint of `model` and `optimizer` takes: the weights and every optimizer state tensor."""
    import torch

    total = sum(t.numel() * t.element_size() for t in model.state_dict().values() if isinstance(t, torch.Tensor))
    if optimizer is not None:
        for state in optimizer.state_dict().get("state", {}).values():
            total += sum(t.numel() * t.element_size() for t in state.values() if isinstance(t, torch.Tensor))
    return total
