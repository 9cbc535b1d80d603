"""Checkpoints and resumption: which checkpoint is complete, what `--resume` does with a run, and the records.

transformers writes a checkpoint file by file into `checkpoint-N/`, so a kill or a full disk mid-save leaves a torn
folder (a full disk once left a 0-byte `trainer_state.json` that every resume then died on). RLKDTrainer writes
`rlkd_complete.json` last, atomically, listing every file of the checkpoint with its size; a checkpoint is complete
when that marker parses, every file it lists is there at that size, and `trainer_state.json` parses. (A checkpoint
from before the marker counts when its JSON state files parse and its weights are there.) Resume skips torn
checkpoints, names each and why, and continues from the newest complete one.

`plan_run` decides what a `rlkd train` does with its output dir:
- a fresh dir: train from scratch; a dir that holds a run is refused without `--resume` (or `--restart`);
- `--resume`: the newest complete checkpoint; a run that already reached `grpo.max_steps` is a no-op (raise
  max_steps to extend it); no complete checkpoint at all is an error, since starting over silently would log step
  1 twice in metrics.jsonl;
- `--restart`: start over in the same dir when it holds no complete checkpoint: metrics.jsonl is emptied, the run
  state (W&B run id, finished step) and the torn checkpoints are removed.

The run state (`rlkd_run.json`, per output dir) holds the W&B run id (a resumed run continues it) and, once the
final model is saved, the step the run finished at.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlkd.errors import ConfigError
from rlkd.io import atomic_write_json, atomic_write_text, read_jsonl

logger = logging.getLogger(__name__)

RLKD_STATE = "rlkd_state.json"
RUN_STATE = "rlkd_run.json"  # per output dir: the W&B run id and the finished step
TRAINER_STATE = "trainer_state.json"
COMPLETE_MARKER = "rlkd_complete.json"  # written last, atomically: the checkpoint's files and their sizes
METRICS_FILE = "metrics.jsonl"
_CKPT = re.compile(r"^checkpoint-(\d+)$")
_WEIGHTS = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "adapter_model.safetensors")
# What a checkpoint holds beyond the final model `save_model` writes: the training state, and rlkd's records.
_TRAINING_STATE = re.compile(
    r"^(optimizer\.pt|scheduler\.pt|scaler\.pt|rng_state.*\.pth|trainer_state\.json|rlkd_state\.json|"
    r"rlkd_complete\.json|entropy_ctrl_state\.json|global_step\d+|latest|zero_to_fp32\.py)$"
)


def checkpoints(output_dir: str | Path) -> list[Path]:
    """All checkpoint folders, oldest first (complete or not)."""
    out = Path(output_dir)
    if not out.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in out.iterdir() if p.is_dir() and (m := _CKPT.match(p.name))]
    return [p for _, p in sorted(found)]


def _json_problem(path: Path) -> str | None:
    if not path.is_file():
        return f"{path.name} is missing"
    if path.stat().st_size == 0:
        return f"{path.name} is empty"
    try:
        json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        return f"{path.name} does not parse ({type(e).__name__})"
    return None


def checkpoint_problem(ckpt: Path) -> str | None:
    """Why `ckpt` is not a complete checkpoint (a save cut short by a kill or a full disk), or None."""
    marker = ckpt / COMPLETE_MARKER
    if marker.exists():
        problem = _json_problem(marker)
        if problem is not None:
            return problem
        files = json.loads(marker.read_text()).get("files", {})
        for name, size in sorted(files.items()):
            path = ckpt / name
            if not path.is_file():
                return f"{name} is missing"
            if path.stat().st_size != size:
                return f"{name} is {path.stat().st_size} bytes, {size} were written"
        return _json_problem(ckpt / TRAINER_STATE)
    # No marker: cut short before the marker, or written before rlkd had one.
    problem = _json_problem(ckpt / TRAINER_STATE)
    if problem is None and (ckpt / RLKD_STATE).exists():
        problem = _json_problem(ckpt / RLKD_STATE)
    if problem is None and not any((ckpt / w).is_file() and (ckpt / w).stat().st_size for w in _WEIGHTS):
        problem = "no model weights"
    return problem


def mark_complete(ckpt: Path) -> None:
    """Record every file of a just-saved checkpoint with its size, atomically: the last write of a save."""
    files = {str(p.relative_to(ckpt)): p.stat().st_size for p in sorted(ckpt.rglob("*")) if p.is_file()}
    files.pop(COMPLETE_MARKER, None)
    atomic_write_json(ckpt / COMPLETE_MARKER, {"files": files})


def unmark(ckpt: Path) -> None:
    """Before a save into an existing folder (a torn one from an earlier attempt): it is not complete until marked."""
    (ckpt / COMPLETE_MARKER).unlink(missing_ok=True)


def latest_complete_checkpoint(output_dir: str | Path) -> Path | None:
    for ckpt in reversed(checkpoints(output_dir)):
        if checkpoint_problem(ckpt) is None:
            return ckpt
    return None


def checkpoint_step(ckpt: Path) -> int:
    return json.loads((ckpt / TRAINER_STATE).read_text())["global_step"]


@dataclass
class RunPlan:
    """What `rlkd train` does with its output dir."""

    checkpoint: Path | None = None  # resume from here; None: train from step 0
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # torn checkpoints passed over, and why
    finished: str | None = None  # the run already reached max_steps: this message, and nothing to train
    finalize: bool = False  # the last checkpoint is at max_steps but the final model was not saved: copy it out


def plan_run(output_dir: str | Path, resume: bool, restart: bool, max_steps: int) -> RunPlan:
    """Decide from the output dir and the flags; raises ConfigError when the dir holds a run the flags don't fit."""
    out = Path(output_dir)
    ckpts = checkpoints(out)
    problems = {c: checkpoint_problem(c) for c in ckpts}
    complete = [c for c in ckpts if problems[c] is None]
    torn = [(c, p) for c, p in problems.items() if p is not None]
    records = _has_records(out)
    if restart:
        if complete:
            raise ConfigError(
                f"--restart would discard the run in grpo.output_dir '{out}', which holds complete checkpoints "
                f"(latest: {complete[-1].name}): continue it with --resume, or choose another grpo.output_dir"
            )
        start_over(out, [c for c, _ in torn])
        return RunPlan()
    if not resume:
        if ckpts or records:
            held = f"checkpoints (latest: {ckpts[-1].name})" if ckpts else f"a run's records ({METRICS_FILE})"
            raise ConfigError(
                f"grpo.output_dir '{out}' already holds {held}: pass --resume to continue that run, --restart to "
                "start it over, or choose another grpo.output_dir"
            )
        return RunPlan()
    for ckpt, problem in torn:
        logger.warning("skipping %s: %s (a save cut short)", ckpt, problem)
    finished = read_run_state(out).get("finished_step")
    if isinstance(finished, int) and max_steps <= finished:  # max_steps <= 0 (epochs): finished as configured
        return RunPlan(skipped=torn, finished=_finished_message(out, finished, max_steps))
    if not complete:
        if not ckpts and not records:
            logger.info("--resume: nothing to resume in %s yet; starting the run", out)
            return RunPlan()
        why = "; ".join(f"{c.name}: {p}" for c, p in torn) or "none was saved"
        raise ConfigError(
            f"--resume: grpo.output_dir '{out}' has no complete checkpoint ({why}): pass --restart to start the run "
            f"over (empties {METRICS_FILE}), or choose another grpo.output_dir"
        )
    latest = complete[-1]
    step = checkpoint_step(latest)
    if finished is not None and max_steps > finished:
        logger.info("extending the run finished at step %d to grpo.max_steps %d", finished, max_steps)
    if 0 < max_steps <= step:  # killed between the last checkpoint and the final save
        return RunPlan(latest, torn, _finished_message(out, step, max_steps), finalize=True)
    return RunPlan(latest, torn)


def _finished_message(out: Path, step: int, max_steps: int) -> str:
    return (
        f"the run in {out} already finished at step {step} (grpo.max_steps {max_steps}): nothing to train; raise "
        "grpo.max_steps to extend it"
    )


def _has_records(out: Path) -> bool:
    metrics = out / METRICS_FILE
    return (metrics.is_file() and metrics.stat().st_size > 0) or (out / RUN_STATE).is_file()


def start_over(out: Path, torn: list[Path]) -> None:
    """Empty the records of a run that left no complete checkpoint, so the new run logs each step once: its torn
    checkpoints, metrics.jsonl, its offline W&B folders, and the run state (the new run gets a new W&B id)."""
    from rlkd.training.wandb_runs import run_folders

    for ckpt in torn:
        logger.warning("--restart: removing %s (incomplete)", ckpt)
        shutil.rmtree(ckpt)
    if (out / METRICS_FILE).exists():
        atomic_write_text(out / METRICS_FILE, "")
    run_id = read_run_state(out).get("wandb_run_id")
    for folder in run_folders(out / "wandb", run_id) if isinstance(run_id, str) else []:
        logger.warning("--restart: removing the earlier attempt's offline W&B run %s", folder)
        shutil.rmtree(folder)
    (out / RUN_STATE).unlink(missing_ok=True)


def finalize_from_checkpoint(ckpt: Path, out: Path) -> None:
    """The final model of a run killed after its last checkpoint: that checkpoint's model files, copied out."""
    for src in sorted(ckpt.iterdir()):
        if src.is_file() and not _TRAINING_STATE.match(src.name):
            tmp = out / f".{src.name}.tmp"
            shutil.copyfile(src, tmp)
            os.replace(tmp, out / src.name)
    logger.info("saved the final model from %s", ckpt)


def truncate_metrics(metrics_path: Path, step: int) -> None:
    """Drop records logged after `step` (work the kill lost), so the resumed run does not log a step twice."""
    if not metrics_path.exists():
        return
    kept = [r for r in read_jsonl(metrics_path) if r.get("step", 0) <= step]
    atomic_write_text(metrics_path, "".join(json.dumps(r) + "\n" for r in kept))


def read_run_state(output_dir: str | Path) -> dict[str, Any]:
    path = Path(output_dir) / RUN_STATE
    try:
        return json.loads(path.read_text()) if path.exists() else {}
    except json.JSONDecodeError:
        return {}  # written atomically, so only a hand edit breaks it; its fields are re-derived


def update_run_state(output_dir: str | Path, **fields: Any) -> None:
    atomic_write_json(Path(output_dir) / RUN_STATE, {**read_run_state(output_dir), **fields})
