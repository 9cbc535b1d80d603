"""Guards on an output dir: one writer at a time, a resume that continues the run it names, and the command that
resumes it.

- `OutputDirLock`: `rlkd train` holds `<output_dir>/rlkd.lock` (the owner's pid, host and start time) while it
  runs. Two writers would interleave metrics.jsonl and leave checkpoints and config of whichever finished last, so a
  second `rlkd train` on the same dir is refused, naming the owner. A lock left by a process that is gone (kill -9,
  OOM) is stale and taken over: on the same host rlkd checks that the pid is alive *and* is the process that took
  the lock (its start time, so a reused pid does not count). A lock from another host cannot be checked from here;
  the error says which host and which file to delete once that run is known to be dead.
- `check_resume_config`: `--resume` restores the checkpoint's optimizer, scheduler and RNG, so a changed learning
  rate would be ignored while config.resolved.yaml and W&B claim it. The config is compared with the run's saved
  config.resolved.yaml; a difference outside `RESUME_SAFE_KEYS` (settings that do not change what is trained) is
  refused with the keys, old and new values. `--force-config-change` accepts it and records it in
  config_changes.jsonl of the run.
- `resume_command`: the exact command line that resumes this run, overrides included (a hint without them resumes
  a different run when the run used `grpo.output_dir=...`).
"""

from __future__ import annotations

import fnmatch
import json
import logging
import os
import shlex
import socket
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from rlkd.config import RunConfig, to_dict
from rlkd.errors import ConfigError
from rlkd.io import append_jsonl

logger = logging.getLogger(__name__)

LOCK_FILE = "rlkd.lock"
CONFIG_CHANGES = "config_changes.jsonl"

# Settings a resumed run may change: how long it runs, how often it saves and logs, where it is tracked, and
# engine/performance knobs that do not change what is sampled or trained. Patterns (fnmatch) over dotted keys of the
# resolved config; `rewards.*.batch_timeout` matches every reward's. docs/resume.md lists them.
RESUME_SAFE_KEYS = (
    "grpo.max_steps",
    "grpo.num_train_epochs",
    "grpo.save_steps",
    "grpo.save_total_limit",
    "grpo.save_strategy",
    "grpo.logging_steps",
    "grpo.logging_first_step",
    "grpo.logging_strategy",
    "grpo.log_completions",
    "grpo.num_completions_to_print",
    "grpo.disable_tqdm",
    "grpo.eval_steps",
    "grpo.output_dir",  # the same dir, perhaps spelt differently (relative / absolute)
    "grpo.dataloader_num_workers",
    "wandb.*",
    "eval.*",  # rlkd eval's settings: not read by training
    "passrate.*",  # rlkd passrate's settings: not read by training
    "sft.*",  # the SFT stage's settings: not read by training
    "rewards.*.batch_timeout",
    "generation.vllm_cpu_threads",
    "generation.vllm_gpu_memory_utilization",
    "generation.vllm_kv_cache_gib",
    "generation.vllm_enforce_eager",
    "generation.vllm_enable_sleep_mode",
)


# ---------------------------------------------------------------------------------------------------------------
# The resume command


def resume_command(config_path: str | None, overrides: Sequence[str] = ()) -> str:
    """`rlkd train CONFIG <the same overrides> --resume`, quoted for a POSIX shell."""
    return shlex.join(["rlkd", "train", str(config_path or "CONFIG"), *overrides, "--resume"])


# ---------------------------------------------------------------------------------------------------------------
# The output-dir lock


def _process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux /proc), to tell a pid from a reused one."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # field 22 of proc(5); the name before ")" may hold spaces


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def owner_alive(owner: dict[str, Any]) -> bool | None:
    """True/False for a lock taken on this host; None when it was taken on another host (cannot be checked)."""
    if owner.get("host") != socket.gethostname():
        return None
    pid = owner.get("pid")
    if not isinstance(pid, int) or not _alive(pid):
        return False
    started = owner.get("process_start")
    return started is None or _process_start(pid) in (None, started)


def describe_owner(owner: dict[str, Any]) -> str:
    return f"pid {owner.get('pid')} on host {owner.get('host')} (since {owner.get('started', '?')})"


class OutputDirLock:
    """`<output_dir>/rlkd.lock`, held for the duration of a `with` block. On exit the lock goes, and so does the
    output dir if this lock created it and nothing else was written there (a config error leaves no empty run)."""

    def __init__(self, output_dir: str | Path):
        self.dir = Path(output_dir)
        self.path = self.dir / LOCK_FILE
        self.token = uuid.uuid4().hex
        self._created_dir = False

    def record(self) -> dict[str, Any]:
        pid = os.getpid()
        return {
            "pid": pid,
            "host": socket.gethostname(),
            "process_start": _process_start(pid),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "command": sys.argv,
            "token": self.token,
        }

    def read(self) -> dict[str, Any] | None:
        try:
            owner = json.loads(self.path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {}  # unreadable or cut short: its writer died between creating and filling it
        return owner if isinstance(owner, dict) else {}

    def acquire(self) -> None:
        self._created_dir = not self.dir.exists()
        self.dir.mkdir(parents=True, exist_ok=True)
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                self._take_over_if_stale()
                continue
            with os.fdopen(fd, "w") as f:
                json.dump(self.record(), f)
                f.flush()
                os.fsync(f.fileno())
            return
        raise ConfigError(f"could not take the lock {self.path}: other processes keep taking it")

    def _take_over_if_stale(self) -> None:
        owner = self.read()
        if owner is None:  # released meanwhile
            return
        if owner == {} and time.time() - self._mtime() < 5.0:
            time.sleep(0.5)  # being written right now by a starting run: look again
            return
        alive = owner_alive(owner) if owner else False
        if alive is None:
            raise ConfigError(
                f"grpo.output_dir '{self.dir}' is in use by {describe_owner(owner)}, which cannot be checked from "
                f"this host: wait for it, choose another grpo.output_dir, or delete {self.path} if that run is gone"
            )
        if alive:
            raise ConfigError(
                f"grpo.output_dir '{self.dir}' is in use by {describe_owner(owner)}: two runs in one output dir "
                "would interleave its metrics and checkpoints; wait for it to finish, stop it, or choose another "
                "grpo.output_dir"
            )
        logger.warning("taking over a stale lock in %s (left by %s, which is gone)", self.dir, describe_owner(owner))
        self.path.unlink(missing_ok=True)

    def _mtime(self) -> float:
        try:
            return self.path.stat().st_mtime
        except OSError:
            return 0.0

    def release(self) -> None:
        owner = self.read()
        if owner and owner.get("token") == self.token:
            self.path.unlink(missing_ok=True)
        if self._created_dir:
            try:
                self.dir.rmdir()  # only if empty: nothing of the run was written
            except OSError:
                pass

    def __enter__(self) -> OutputDirLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def check_not_locked(output_dir: str | Path) -> None:
    """What `rlkd validate` checks: the output dir is not in use by a live run (nothing is taken)."""
    lock = OutputDirLock(output_dir)
    owner = lock.read()
    if owner and owner_alive(owner) is not False:
        raise ConfigError(
            f"grpo.output_dir '{output_dir}' is in use by {describe_owner(owner)}: `rlkd train` would refuse it"
        )


def lock_for_this_rank(output_dir: str | Path):
    """The lock for the main process; other ranks of a distributed run share their main process's lock."""
    from contextlib import nullcontext

    return OutputDirLock(output_dir) if os.environ.get("RANK", "0") == "0" else nullcontext()


# ---------------------------------------------------------------------------------------------------------------
# The config of a resumed run


def flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    """Nested config data as {"a.b.c": leaf}; lists of mappings (rewards) are indexed, other lists are leaves."""
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            out.update(flatten(value, f"{prefix}{key}."))
        return out if out or not prefix else {prefix[:-1]: {}}
    if isinstance(node, list) and node and all(isinstance(v, dict) for v in node):
        out = {}
        for i, value in enumerate(node):
            out.update(flatten(value, f"{prefix}{i}."))
        return out
    return {prefix[:-1]: node}


def _default(key: str) -> Any:
    """The default of a setting missing on one side (a run saved before the setting existed, or a grpo key left
    at TRL's default), so that writing out a default is not a change. None when there is no default."""
    import dataclasses
    import typing

    from trl import GRPOConfig

    parts = key.split(".")
    cls: Any = GRPOConfig if parts[0] == "grpo" else RunConfig
    names = parts[1:] if parts[0] == "grpo" else parts
    for depth, name in enumerate(names):
        if not dataclasses.is_dataclass(cls):
            return None
        found = next((f for f in dataclasses.fields(cls) if f.name == name), None)
        if found is None:
            return None
        if depth == len(names) - 1:
            if found.default is not dataclasses.MISSING:
                return found.default
            return found.default_factory() if found.default_factory is not dataclasses.MISSING else None
        cls = typing.get_type_hints(cls).get(name)
    return None


def _same(old: Any, new: Any) -> bool:
    empty = (None, [], {})
    return old == new or (old in empty and new in empty)


def config_diff(saved: dict[str, Any], current: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """key → (saved, current) for every resolved setting that differs."""
    old, new = flatten(saved), flatten(current)
    diff = {}
    for key in sorted(set(old) | set(new)):
        missing = _default(key) if key not in old or key not in new else None
        a, b = old.get(key, missing), new.get(key, missing)
        if not _same(a, b):
            diff[key] = (a, b)
    return diff


def is_resume_safe(key: str) -> bool:
    return any(fnmatch.fnmatchcase(key, pattern) for pattern in RESUME_SAFE_KEYS)


def check_resume_config(
    output_dir: Path, cfg: RunConfig, saved_name: str, step: int, force: bool = False, record: bool = True
) -> dict[str, tuple[Any, Any]]:
    """Refuse (ConfigError) a resume whose config differs from the run's saved one outside RESUME_SAFE_KEYS,
    unless `force`, which records the change (in CONFIG_CHANGES, unless `record` is false: `rlkd validate`).
    Returns the refused-but-forced changes."""
    saved_path = output_dir / saved_name
    if not saved_path.is_file():
        logger.warning("%s has no %s: the resumed config cannot be compared with the run's", output_dir, saved_name)
        return {}
    saved = _typed_grpo(yaml.safe_load(saved_path.read_text()) or {})
    current = _typed_grpo(yaml.safe_load(yaml.safe_dump(to_dict(cfg), sort_keys=False)))  # as it would be saved
    diff = config_diff(saved, current)
    refused = {k: v for k, v in diff.items() if not is_resume_safe(k)}
    if diff.keys() - refused.keys():
        logger.info("resuming with changed settings: %s", ", ".join(sorted(diff.keys() - refused.keys())))
    if not refused:
        return {}
    changes = "; ".join(f"{k}: {_show(a)} -> {_show(b)}" for k, (a, b) in refused.items())
    if not force:
        raise ConfigError(
            f"--resume with a config that differs from the run's {saved_path} ({changes}): the checkpoint's "
            "optimizer, scheduler and RNG would keep the old run going under the new settings. Resume with the "
            "run's own settings, start a new grpo.output_dir, or pass --force-config-change to accept (recorded "
            f"in {CONFIG_CHANGES})"
        )
    if not record:
        return refused
    logger.warning("--force-config-change: resuming at step %d with %s", step, changes)
    entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "resumed_from_step": step, "command": sys.argv}
    append_jsonl(output_dir / CONFIG_CHANGES, {**entry, "changes": {k: [a, b] for k, (a, b) in refused.items()}})
    return refused


def _typed_grpo(resolved: dict[str, Any]) -> dict[str, Any]:
    """The grpo section with TRL's types applied: `1e-6` on a command line is a YAML string, `1.0e-6` in a file a
    float, and the two are the same learning rate."""
    from trl import GRPOConfig

    from rlkd.config.trl_bridge import GRPO_DOCS, OWNED_GRPO_KEYS, checked_section

    grpo = resolved.get("grpo")
    if isinstance(grpo, dict):
        try:
            resolved = {**resolved, "grpo": checked_section(grpo, GRPOConfig, "grpo", OWNED_GRPO_KEYS, GRPO_DOCS)}
        except ConfigError:  # saved by another TRL version: compare as written
            pass
    return resolved


def _show(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."
