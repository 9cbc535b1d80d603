"""One offline W&B run folder per rlkd run, across resumes, with every step logged once.

W&B offline never reuses a run folder: each `wandb.init(id=..., resume="allow")` writes a new
`offline-run-<time>-<id>` folder whose history counts `_step` from 0 again, and the steps a killed run logged after
its last checkpoint are logged again by the resumed one. Synced, that is one run with steps twice over. So rlkd keeps
the run's W&B data the way metrics.jsonl is kept:
- on resume from step S, before W&B starts, the run's folders are merged into the first one and cut after the
  last history row of step S (`train/global_step`, as TRL logs it), like metrics.jsonl;
- when the resumed process ends, its new folder is merged in after that: its `_step` and `_runtime` continue the
  earlier ones, its run record becomes a config update, and its files (media, summary) join the first folder's.
`wandb sync <output_dir>/wandb/offline-run-*` then uploads one run with each step once.

The `.wandb` file is W&B's transaction log: a LevelDB-format log (32 KiB blocks of CRC-checked chunks) of protobuf
`Record`s (wandb.proto.wandb_internal_pb2), after a 7-byte header. This module reads and writes that format and no
other part of W&B's internals; a merged file is written to a temporary file and renamed over the old one.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import struct
import zlib
from collections.abc import Iterable
from pathlib import Path

logger = logging.getLogger(__name__)

HEADER = b":W&B" + struct.pack("<HB", 0xBEE1, 0)
BLOCK = 32768
CHUNK_HEADER = 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4
STEP_KEY = "train/global_step"  # how TRL's WandbCallback records the optimizer step
_ENDINGS = ("exit", "final", "footer")  # records that end a run: only the last segment keeps them
_SYMLINKS = ("latest-run", "debug.log", "debug-internal.log")


class WandbFileError(ValueError):
    """A .wandb file that is not W&B's transaction log format."""


def read_records(path: Path) -> list[bytes]:
    """The serialized records of a .wandb file, in order. A torn tail (a kill mid-write) ends the list."""
    data = path.read_bytes()
    if not data.startswith(HEADER):
        raise WandbFileError(f"{path} does not start with the W&B header")
    records, pos, partial = [], len(HEADER), b""
    while pos + CHUNK_HEADER <= len(data):
        left = BLOCK - pos % BLOCK
        if left < CHUNK_HEADER:  # a block trailer too short for a chunk header is padding
            pos += left
            continue
        crc, length, kind = struct.unpack("<IHB", data[pos : pos + CHUNK_HEADER])
        chunk = data[pos + CHUNK_HEADER : pos + CHUNK_HEADER + length]
        if kind == 0 or len(chunk) < length or zlib.crc32(chunk, zlib.crc32(bytes([kind]))) != crc:
            break
        pos += CHUNK_HEADER + length
        if kind == FULL:
            records.append(chunk)
        elif kind == FIRST:
            partial = chunk
        elif kind == MIDDLE:
            partial += chunk
        elif kind == LAST:
            records.append(partial + chunk)
    return records


def write_records(path: Path, records: Iterable[bytes]) -> None:
    """Write records in the transaction log format, atomically."""
    out = bytearray(HEADER)
    for record in records:
        rest, first = record, True
        while True:
            left = BLOCK - len(out) % BLOCK
            if left < CHUNK_HEADER:
                out += b"\0" * left
                left = BLOCK
            room = left - CHUNK_HEADER
            chunk, rest = rest[:room], rest[room:]
            kind = (FULL if not rest else FIRST) if first else (LAST if not rest else MIDDLE)
            out += struct.pack("<IHB", zlib.crc32(chunk, zlib.crc32(bytes([kind]))), len(chunk), kind) + chunk
            first = False
            if not rest:
                break
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(out)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def run_folders(wandb_dir: Path, run_id: str) -> list[Path]:
    """The offline folders of run `run_id`, in the order W&B started them."""
    pattern = re.compile(rf"^offline-run-(\d{{8}}_\d{{6}})-{re.escape(run_id)}(?:-(\d+))?$")
    found = []
    for p in wandb_dir.glob("offline-run-*") if wandb_dir.is_dir() else []:
        m = pattern.match(p.name)
        if m and p.is_dir() and (p / f"run-{run_id}.wandb").is_file():
            found.append(((m.group(1), int(m.group(2) or 0)), p))
    return [p for _, p in sorted(found)]


def history_steps(path: Path) -> list[int | None]:
    """`train/global_step` of each history row of a .wandb file (None for rows without it, e.g. tables)."""
    from wandb.proto import wandb_internal_pb2 as pb

    steps = []
    for raw in read_records(path):
        r = pb.Record.FromString(raw)
        if r.WhichOneof("record_type") == "history":
            steps.append(_step_of(r))
    return steps


def last_logged_step(folder: Path, run_id: str) -> int:
    """The last step with a Trainer.log row in the folder's history (0 when none)."""
    from wandb.proto import wandb_internal_pb2 as pb

    steps = [0]
    for raw in read_records(folder / f"run-{run_id}.wandb"):
        r = pb.Record.FromString(raw)
        if r.WhichOneof("record_type") == "history" and _is_log_row(r):
            steps.append(_step_of(r))
    return max(steps)


def _key(item) -> str:
    return item.key or "/".join(item.nested_key)  # W&B splits "train/global_step" into nested keys


def _step_of(record) -> int | None:
    for item in record.history.item:
        if _key(item) == STEP_KEY:
            return int(json.loads(item.value_json))
    return None


def _shift(items, step_offset: int, runtime_offset: float) -> float:
    """Renumber `_step` and `_runtime` items in place; returns the last `_runtime` seen (0.0 if none)."""
    runtime = 0.0
    for item in items:
        if _key(item) == "_step" and step_offset:
            item.value_json = json.dumps(int(json.loads(item.value_json)) + step_offset)
        elif _key(item) == "_runtime":
            runtime = float(json.loads(item.value_json)) + runtime_offset
            item.value_json = json.dumps(runtime)
    return runtime


def merge(folders: list[Path], run_id: str, keep_step: int | None = None) -> Path | None:
    """Merge `folders` (one run's segments, in start order) into the first; with `keep_step`, cut the history
    after the last row of that step. Returns the folder left, or None when there is none."""
    from wandb.proto import wandb_internal_pb2 as pb

    if not folders or (len(folders) == 1 and keep_step is None):
        return folders[0] if folders else None
    merged: list = []
    next_step, runtime = 0, 0.0
    for index, folder in enumerate(folders):
        offset_step, offset_runtime, last = next_step, runtime, index == len(folders) - 1
        for raw in read_records(folder / f"run-{run_id}.wandb"):
            r = pb.Record.FromString(raw)
            kind = r.WhichOneof("record_type")
            if index and kind == "header":
                continue
            if index and kind == "run":  # a resumed segment's run record: keep what it changes, the config
                if not r.run.HasField("config"):
                    continue
                r = pb.Record(config=r.run.config)
            elif kind in _ENDINGS and (not last or keep_step is not None):
                continue
            elif kind == "history":
                r.history.step.num += offset_step
                next_step = max(next_step, r.history.step.num + 1)
                runtime = max(runtime, _shift(r.history.item, offset_step, offset_runtime))
            elif kind == "summary":
                _shift(r.summary.update, offset_step, offset_runtime)
            merged.append(r)
    cut = _cut_at(merged, keep_step) if keep_step is not None else len(merged)
    merged, dropped = merged[:cut], merged[cut:]
    for num, r in enumerate(merged, 1):
        r.num = num
    first = folders[0]
    write_records(first / f"run-{run_id}.wandb", [r.SerializeToString() for r in merged])
    for folder in folders[1:]:
        _absorb(first, folder)
    for media in _media_paths(dropped):  # tables of the dropped rows: nothing refers to them any more
        (first / "files" / media).unlink(missing_ok=True)
    return first


def _is_log_row(record) -> bool:
    """A row of Trainer.log (TRL's WandbCallback prefixes every key with "train/"), not a profiling timing (those
    carry train/global_step too) or a table (which has none)."""
    keys = {_key(item) for item in record.history.item}
    return STEP_KEY in keys and any(k.startswith("train/") and k != STEP_KEY for k in keys)


def _cut_at(records: list, step: int) -> int:
    """Where the history of steps <= `step` ends: after the last log row of such a step and the rows without a
    step that follow it (its completions table). Everything from there on (the next step's timings, its log row) is
    work a kill lost, logged again by the resumed run."""
    cut = 0
    for i, r in enumerate(records):
        if r.WhichOneof("record_type") != "history":
            continue
        s = _step_of(r)
        if s is not None and s > step:
            break
        if s is not None and _is_log_row(r):
            cut = i + 1
        elif s is None and cut and all(x.WhichOneof("record_type") != "history" for x in records[cut:i]):
            cut = i + 1  # the table logged right after that log row, with the records that announce it
    return cut


def _media_paths(records: list) -> list[str]:
    paths = []
    for r in records:
        for item in r.history.item if r.WhichOneof("record_type") == "history" else ():
            if (item.nested_key[-1:] or [item.key])[0] == "path" and '"media/' in item.value_json:
                path = json.loads(item.value_json)
                if ".." not in Path(path).parts:
                    paths.append(path)
    return paths


def _absorb(first: Path, later: Path) -> None:
    """Move a merged segment's files into the first folder (later files win), append its logs, remove it."""
    for src in sorted((later / "files").rglob("*")) if (later / "files").is_dir() else []:
        if src.is_file():
            dst = first / "files" / src.relative_to(later / "files")
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dst)
    for log in sorted((later / "logs").glob("*.log")) if (later / "logs").is_dir() else []:
        (first / "logs").mkdir(exist_ok=True)
        with open(first / "logs" / log.name, "ab") as f:
            f.write(log.read_bytes())
    shutil.rmtree(later)


def _repoint_symlinks(wandb_dir: Path, folder: Path) -> None:
    targets = {"latest-run": folder.name, "debug.log": f"{folder.name}/logs/debug.log"}
    targets["debug-internal.log"] = f"{folder.name}/logs/debug-internal.log"
    for name in _SYMLINKS:
        link = wandb_dir / name
        if link.is_symlink() and not link.exists():
            link.unlink()
            if (wandb_dir / targets[name]).exists():
                link.symlink_to(targets[name])


def consolidate(wandb_dir: Path, run_id: str, keep_step: int | None = None) -> Path | None:
    """Make run `run_id` one offline folder under `wandb_dir` (cut after `keep_step` when given). A folder that
    cannot be read is left alone, with a warning: rlkd never deletes W&B data it could not merge."""
    folders = run_folders(wandb_dir, run_id)
    try:
        folder = merge(folders, run_id, keep_step)
    except (WandbFileError, OSError, ValueError) as e:
        logger.warning("W&B: could not merge the offline folders of run %s (%s); they are left as they are", run_id, e)
        return None
    if folder is not None:
        _repoint_symlinks(wandb_dir, folder)
    return folder
