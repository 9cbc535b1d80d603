"""Checkpoints and resumption: find the latest *complete* checkpoint, refuse to clobber a run, keep records consistent.

transformers writes a checkpoint file by file into `checkpoint-N/`, so a kill mid-save leaves a partial folder. Its
`trainer_state.json` is written after the model, optimizer, scheduler and RNG states, so a folder that has it is
complete; rlkd's own state (`rlkd_state.json`, written atomically *before* TRL's files) is then there too.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from rlkd.errors import ConfigError
from rlkd.io import atomic_write_json, atomic_write_text, read_jsonl

RLKD_STATE = "rlkd_state.json"
RUN_STATE = "rlkd_run.json"  # per output dir: the W&B run id, so a resumed run continues the same W&B run
TRAINER_STATE = "trainer_state.json"
_CKPT = re.compile(r"^checkpoint-(\d+)$")


def checkpoints(output_dir: str | Path) -> list[Path]:
    """All checkpoint folders, oldest first (complete or not)."""
    out = Path(output_dir)
    if not out.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in out.iterdir() if p.is_dir() and (m := _CKPT.match(p.name))]
    return [p for _, p in sorted(found)]


def latest_complete_checkpoint(output_dir: str | Path) -> Path | None:
    for ckpt in reversed(checkpoints(output_dir)):
        if (ckpt / TRAINER_STATE).is_file():
            return ckpt
    return None


def checkpoint_step(ckpt: Path) -> int:
    return json.loads((ckpt / TRAINER_STATE).read_text())["global_step"]


def prepare_output_dir(output_dir: str | Path, resume: bool) -> Path | None:
    """The checkpoint to resume from (None: start fresh). Without `resume`, existing checkpoints are an error."""
    existing = checkpoints(output_dir)
    if not resume:
        if existing:
            raise ConfigError(
                f"grpo.output_dir '{output_dir}' already holds checkpoints (latest: {existing[-1].name}): pass "
                "--resume to continue that run, or choose another grpo.output_dir"
            )
        return None
    return latest_complete_checkpoint(output_dir)


def truncate_metrics(metrics_path: Path, step: int) -> None:
    """Drop records logged after `step` (work the kill lost), so the resumed run does not log a step twice."""
    if not metrics_path.exists():
        return
    kept = [r for r in read_jsonl(metrics_path) if r.get("step", 0) <= step]
    atomic_write_text(metrics_path, "".join(json.dumps(r) + "\n" for r in kept))


def read_run_state(output_dir: str | Path) -> dict[str, Any]:
    path = Path(output_dir) / RUN_STATE
    return json.loads(path.read_text()) if path.exists() else {}


def write_run_state(output_dir: str | Path, state: dict[str, Any]) -> None:
    atomic_write_json(Path(output_dir) / RUN_STATE, state)
