"""The pass-rate filter of the recipe: drop prompts the student already solves (pass rate >= 0.75 by default) and,
optionally, prompts it never solves (pass rate <= min_pass_rate), since GRPO learns nothing from either.

    kept = filter_by_pass_rate(rows, max_pass_rate=0.75, min_pass_rate=0.0)   # list of dicts or datasets.Dataset

The thresholds are strict, as in the paper: a prompt at exactly 0.75 is dropped, one at exactly min_pass_rate too.
Every call logs one line saying how many rows were dropped and why; `pass_rate_filter` returns the same as data.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from curricula.protocol import CurriculumError

logger = logging.getLogger(__name__)

PASS_RATE = "pass_rate"


@dataclass(frozen=True)
class FilterReport:
    keep: np.ndarray  # (N,) bool
    too_easy: int  # pass_rate >= max_pass_rate
    too_hard: int  # pass_rate <= min_pass_rate
    unknown: int  # no estimate (dropped unless keep_unknown)
    max_pass_rate: float | None
    min_pass_rate: float | None

    @property
    def kept(self) -> int:
        return int(self.keep.sum())

    @property
    def dropped(self) -> int:
        return len(self.keep) - self.kept

    def summary(self) -> str:
        parts = [f"{self.too_easy} with pass_rate >= {self.max_pass_rate}"] if self.max_pass_rate is not None else []
        if self.min_pass_rate is not None:
            parts.append(f"{self.too_hard} with pass_rate <= {self.min_pass_rate}")
        if self.unknown:
            parts.append(f"{self.unknown} without a pass_rate{' (kept)' if self.keep.size and self.kept else ''}")
        return f"pass-rate filter: kept {self.kept} of {len(self.keep)} prompts; dropped {self.dropped}: " + (
            ", ".join(parts) or "none"
        )


def pass_rate_filter(
    rates: Sequence[float | None] | np.ndarray,
    max_pass_rate: float | None = 0.75,
    min_pass_rate: float | None = None,
    *,
    keep_unknown: bool = False,
) -> FilterReport:
    """Which prompts the filter keeps, and the counts of each reason to drop one. None/NaN = no estimate."""
    if max_pass_rate is not None and not 0.0 <= max_pass_rate <= 1.0:
        raise CurriculumError(f"max_pass_rate must be in [0, 1], got {max_pass_rate}")
    if min_pass_rate is not None and not 0.0 <= min_pass_rate <= 1.0:
        raise CurriculumError(f"min_pass_rate must be in [0, 1], got {min_pass_rate}")
    if max_pass_rate is not None and min_pass_rate is not None and min_pass_rate >= max_pass_rate:
        raise CurriculumError(f"min_pass_rate ({min_pass_rate}) must be below max_pass_rate ({max_pass_rate})")
    r = np.array([np.nan if v is None else v for v in rates], dtype=float)
    unknown = np.isnan(r)
    known = r[~unknown]
    if known.size and not ((known >= 0) & (known <= 1)).all():
        raise CurriculumError("pass rates must be in [0, 1]")
    with np.errstate(invalid="ignore"):  # NaN compares False: unknown rows are neither easy nor hard
        easy = r >= max_pass_rate if max_pass_rate is not None else np.zeros(len(r), dtype=bool)
        hard = r <= min_pass_rate if min_pass_rate is not None else np.zeros(len(r), dtype=bool)
    keep = ~easy & ~hard & (~unknown if not keep_unknown else True)
    return FilterReport(
        keep=np.asarray(keep, dtype=bool),
        too_easy=int(easy.sum()),
        too_hard=int((hard & ~easy).sum()),
        unknown=int(unknown.sum()),
        max_pass_rate=max_pass_rate,
        min_pass_rate=min_pass_rate,
    )


def filter_by_pass_rate(
    rows: Any,
    max_pass_rate: float | None = 0.75,
    min_pass_rate: float | None = None,
    *,
    keep_unknown: bool = False,
    column: str = PASS_RATE,
) -> Any:
    """Keep rows with `pass_rate < max_pass_rate` (and `> min_pass_rate` when given). Takes and returns a list of
    dicts or a `datasets.Dataset`; rows without a pass rate are dropped unless `keep_unknown`."""
    if isinstance(rows, list):
        rates = [row.get(column) for row in rows]
    elif hasattr(rows, "column_names") and hasattr(rows, "select"):
        if column not in rows.column_names:
            raise CurriculumError(f"the dataset has no '{column}' column (columns: {rows.column_names})")
        rates = rows[column]
    else:
        raise CurriculumError(f"filter_by_pass_rate takes a list of dicts or a datasets.Dataset, not {type(rows)}")
    report = pass_rate_filter(rates, max_pass_rate, min_pass_rate, keep_unknown=keep_unknown)
    logger.info(report.summary())
    if isinstance(rows, list):
        return [row for row, k in zip(rows, report.keep) if k]
    return rows.select(np.flatnonzero(report.keep))
