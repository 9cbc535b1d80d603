"""Run tracking: metrics.jsonl (always) and Weights & Biases (on by default, offline without credentials).

metrics.jsonl is the record users and tools read without W&B: one JSON object per logging step, with the step
and every metric TRL and rlkd log. W&B never prompts or hangs: with no API key it runs offline under the output
dir, to be uploaded later with `wandb sync <output_dir>/wandb/offline-run-*`.
"""

from __future__ import annotations

import logging
import math
import netrc
import os
import signal
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from transformers import TrainerCallback

from rlkd.config import WandbConfig
from rlkd.errors import ConfigError, redact
from rlkd.io import append_jsonl, read_jsonl
from rlkd.threads import POLICY
from rlkd.training.checkpoints import METRICS_FILE

logger = logging.getLogger(__name__)

RUN_ID_RETRIES = 10


# A field only metrics.jsonl records (TRL's WandbCallback never sees it), so a W&B replay leaves it out.
THREADS_KEY = "cpu_threads"


class MetricsJSONLCallback(TrainerCallback):
    """Appends each log event (on the main process) to <output_dir>/metrics.jsonl, with the torch CPU thread count
    it ran at (`cpu_threads`): on some CPUs the count changes the float results (rlkd.threads), and the auto
    policy changes it with the box's load, so the record says when a rerun cannot match bit for bit."""

    def __init__(self, output_dir: str | Path):
        self.path = Path(output_dir) / METRICS_FILE

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        import torch

        record: dict[str, Any] = {"step": state.global_step, THREADS_KEY: torch.get_num_threads()}
        for key, value in logs.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                record[key] = value if math.isfinite(value) else str(value)
            elif isinstance(value, (str, bool)):
                record[key] = value
        append_jsonl(self.path, record)


class ThreadPolicyCallback(TrainerCallback):
    """Re-checks torch's CPU thread count (rlkd.threads) between optimizer steps, where no torch op is running."""

    def on_train_begin(self, args, state, control, **kwargs):
        POLICY.adjust()  # the first call measures for a moment; later ones use the load since the last check

    def on_step_begin(self, args, state, control, **kwargs):
        POLICY.adjust()


def stop_orphaned_wandb_services(wait: float = 0.0) -> int:
    """SIGTERM every wandb-core whose parent (`--pid N`) no longer exists, and wait up to `wait` seconds for them to
    exit; returns how many. Linux /proc only."""
    stopped = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if not args or not args[0].endswith(b"wandb-core") or b"--pid" not in args:
            continue
        try:
            parent = int(args[args.index(b"--pid") + 1])
            os.kill(parent, 0)
            continue  # its process is alive: not ours to stop
        except ProcessLookupError:
            pass
        except (ValueError, IndexError, PermissionError):
            continue
        try:
            os.kill(int(proc.name), signal.SIGTERM)
            stopped.append(proc)
        except OSError:
            pass
    deadline = time.monotonic() + wait
    while any(p.exists() for p in stopped) and time.monotonic() < deadline:
        time.sleep(0.1)
    return len(stopped)


def has_wandb_credentials() -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    host = urlparse(os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")).hostname or "api.wandb.ai"
    try:
        return netrc.netrc().authenticators(host) is not None
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        return False


def resolve_mode(cfg: WandbConfig) -> str:
    """auto → online with credentials, else offline; WANDB_MODE in the environment wins over auto."""
    if cfg.mode == "auto":
        env = os.environ.get("WANDB_MODE")
        if env in ("online", "offline", "disabled"):
            return env if env != "online" or has_wandb_credentials() else "offline"
        return "online" if has_wandb_credentials() else "offline"
    if cfg.mode == "online" and not has_wandb_credentials():
        raise ConfigError(
            "wandb.mode is online but no W&B credentials were found: set WANDB_API_KEY, run "
            "`wandb login`, or use wandb.mode: offline"
        )
    return cfg.mode


def start_wandb(
    cfg: WandbConfig, output_dir: Path, resolved: dict[str, Any], run_id: str | None = None, resume_step: int = 0
):
    """Start the W&B run (TRL's WandbCallback then reuses it). Returns the run, or None when disabled.

    `run_id`: continue that run, resumed from optimizer step `resume_step`; offline, its folders are first merged
    into one and cut after that step (rlkd.training.wandb_runs), as metrics.jsonl is cut.
    """
    mode = resolve_mode(cfg)
    if mode == "disabled":
        return None
    import wandb

    logged = None
    if run_id and mode == "offline":
        from rlkd.training.wandb_runs import consolidate, last_logged_step

        # The interrupted run's wandb-core may outlive it, still holding the log: stop it before reading the log.
        stop_orphaned_wandb_services(wait=10.0)
        folder = consolidate(output_dir / "wandb", run_id, keep_step=resume_step)
        logged = last_logged_step(folder, run_id) if folder is not None else 0

    output_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("WANDB_SILENT", "true")
    kwargs = dict(
        project=cfg.project,
        entity=cfg.entity,
        name=cfg.name,
        group=cfg.group,
        tags=list(cfg.tags) or None,
        config=resolved,
        dir=str(output_dir),
        mode=mode,
        id=run_id,
        resume="allow" if run_id else None,
        settings=wandb.Settings(init_timeout=120, console="off"),
    )
    # After a kill -9 the dead run's W&B service (wandb-core) outlives it and holds its run id, so resuming that id
    # fails with "run ID ... is in use". Such a service is an orphan (the process it served is gone): stop it, then
    # retry a few times while it shuts down.
    for attempt in range(RUN_ID_RETRIES):
        try:
            with _redacted_argv():
                run = wandb.init(**kwargs)
            break
        except Exception as e:
            if not run_id or "in use" not in str(e) or attempt == RUN_ID_RETRIES - 1:
                raise
            reaped = stop_orphaned_wandb_services()
            logger.info(
                "W&B run %s is held by the interrupted run's service; stopped %d orphan(s), retrying", run_id, reaped
            )
            time.sleep(2.0)
    if mode == "offline" and not run_id:
        logger.info("W&B is offline: upload later with `wandb sync %s`", Path(run.dir).parent)
    if logged is not None and logged < resume_step:
        replay_metrics(run, output_dir / METRICS_FILE, after=logged, upto=resume_step)
    return run


# Logged by TRL's WandbCallback into the run summary rather than a history row (transformers' single_value_scalars).
_SUMMARY_ONLY = ("train_runtime", "train_samples_per_second", "train_steps_per_second", "train_loss", "total_flos")


def replay_metrics(run, metrics_path: Path, after: int, upto: int) -> None:
    """Log the steps `after` < step <= `upto` of metrics.jsonl to `run` as TRL's WandbCallback logged them.

    A kill -9 loses the tail of an offline W&B log (wandb-core writes it in 32 KiB blocks), steps that metrics.jsonl
    (fsynced per line) and the checkpoint kept; the resumed run logs them again, so W&B has every step once."""
    from transformers.integrations.integration_utils import rewrite_logs

    replayed = 0
    for record in read_jsonl(metrics_path) if metrics_path.exists() else []:
        step = record.get("step", 0)
        if not after < step <= upto:
            continue
        logs = {
            k: float(v) if v in ("nan", "inf", "-inf") else v
            for k, v in record.items()
            if k not in ("step", THREADS_KEY)
        }
        for key in _SUMMARY_ONLY:
            if key in logs:
                run.summary[key] = logs.pop(key)
        run.log({**rewrite_logs(logs), "train/global_step": step})
        replayed += 1
    if replayed:
        logger.info(
            "W&B: logged again %d record(s) of steps %d-%d that the interrupted run lost", replayed, after + 1, upto
        )


@contextmanager
def _redacted_argv():
    """W&B records the command line (wandb-metadata.json): an override may carry a URL with credentials."""
    saved = list(sys.argv)
    sys.argv[:] = [redact(arg) for arg in saved]
    try:
        yield
    finally:
        sys.argv[:] = saved


def finish_wandb(run, output_dir: Path) -> None:
    """Finish the run; offline, merge a resumed run's new folder into the run's first one (one folder per run)."""
    import wandb

    offline = run.settings.mode == "offline"
    run.finish()
    if offline:
        wandb.teardown()  # waits for wandb-core to exit: only then is the run's log fully written
        from rlkd.training.wandb_runs import consolidate

        folder = consolidate(output_dir / "wandb", run.id)
        if folder is not None:
            logger.info("W&B is offline: upload later with `wandb sync %s`", folder)
