"""The pass-rate file: the one owner of its format (write, resume, read, join to a dataset).

`rlkd passrate` writes one JSONL row per train prompt: the row's columns plus `row_index`, `prompt_key`,
`pass_rate` (mean over judged samples, None when none was judged), `num_samples` and `num_judged`. Rows are
appended with one write + fsync each, so a killed run loses at most the batch in flight; a restart drops a torn
last line, checks the rows belong to this dataset, and continues with the prompts not yet written.

The key hashes the prompt as the model sees it (chat messages, reasoning-mode line included) with its solution, so
the file is joined to a dataset by content, and a file made for other data or another mode is detected instead of
misapplied. Training reads it through `curriculum.pass_rates` (`load_pass_rates`, then `join_pass_rates`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from rlkd.config import RunConfig
from rlkd.errors import ConfigError
from rlkd.io import append_jsonl, read_jsonl

logger = logging.getLogger(__name__)

DEFAULT_OUTPUT = "passrate.jsonl"
REQUIRED_FIELDS = {"prompt_key", "pass_rate"}


def prompt_key(prompt: Any, solution: Any) -> str:
    blob = json.dumps([prompt, solution], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha1(blob.encode()).hexdigest()[:20]


def dataset_keys(ds) -> list[str]:
    """Every row's prompt_key, in order."""
    return [prompt_key(p, s) for p, s in zip(ds["prompt"], ds["solution"])]


def output_path(cfg: RunConfig) -> Path:
    return Path(cfg.passrate.output) if cfg.passrate.output else cfg.output_dir / DEFAULT_OUTPUT


# ---------------------------------------------------------------------------------------------------------------
# Writing and resuming


def drop_torn_tail(path: Path) -> None:
    """Cut an interrupted append (text after the last newline) so new rows start on a line of their own."""
    with open(path, "rb+") as f:
        data = f.read()
        end = data.rfind(b"\n") + 1
        if end < len(data):
            logger.warning("%s: dropping a torn last line left by an interrupted run", path)
            f.truncate(end)
            f.flush()
            os.fsync(f.fileno())


def finished_rows(path: Path, keys: list[str]) -> set[int]:
    """Row indices already in `path`, after checking each belongs to the dataset whose keys are `keys`."""
    if not path.exists():
        return set()
    drop_torn_tail(path)
    try:
        records = read_jsonl(path)
    except json.JSONDecodeError as e:
        raise ConfigError(f"passrate.output '{path}' is corrupt ({e}): move it away and rerun") from None
    done = set()
    for rec in records:
        i = rec.get("row_index")
        if not isinstance(i, int) or i >= len(keys) or rec.get("prompt_key") != keys[i]:
            raise ConfigError(
                f"passrate.output '{path}' holds rows for other data (row_index {i} does not match this config's "
                "train split): set passrate.output to a new path, or delete the file"
            )
        done.add(i)
    return done


def append_pass_rate(
    path: Path, row: dict[str, Any], index: int, key: str, rate: float | None, num_samples: int, num_judged: int
) -> None:
    record = {**row, "row_index": index, "prompt_key": key, "pass_rate": rate, "num_samples": num_samples}
    append_jsonl(path, {**record, "num_judged": num_judged})


# ---------------------------------------------------------------------------------------------------------------
# Reading


def load_pass_rates(path: str | Path) -> dict[str, float | None]:
    """prompt_key -> pass_rate from an `rlkd passrate` output (JSONL, a torn last line tolerated; or a dataset dir)."""
    p = Path(path)
    if p.is_dir():
        import datasets

        rows = list(datasets.load_from_disk(str(p)))
    elif p.is_file():
        try:
            rows = read_jsonl(p)
        except json.JSONDecodeError as e:
            raise ConfigError(f"curriculum.pass_rates '{p}' is not valid JSONL ({e}); rerun `rlkd passrate`") from None
    else:
        raise ConfigError(f"curriculum.pass_rates '{p}' not found: write it with `rlkd passrate CONFIG`")
    if rows and not REQUIRED_FIELDS <= set(rows[0]):
        raise ConfigError(f"curriculum.pass_rates '{p}' lacks prompt_key/pass_rate fields: use `rlkd passrate` output")
    return {row["prompt_key"]: row["pass_rate"] for row in rows}


def join_pass_rates(train_ds, table: dict[str, float | None]) -> np.ndarray:
    """Each train row's pass rate (NaN where the file has none), matched by the prompt as formatted for the run."""
    rates = [table.get(k) for k in dataset_keys(train_ds)]
    return np.array([np.nan if r is None else r for r in rates], dtype=float)
