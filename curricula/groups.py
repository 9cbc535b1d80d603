"""Per-group accuracy statistics of a scored GRPO batch: the realised pass rate of each prompt, and which groups
carry no learning signal (every answer right, or every answer wrong: all advantages are zero).

The batch is flat, `num_generations` samples per prompt in a row (TRL's layout after gathering); NaN = not judged.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GroupStats:
    mean: np.ndarray  # (B,) mean accuracy per group; NaN if no sample was judged
    zero_variance: np.ndarray  # (B,) bool: at least one judged sample and all judged ones equal
    judged: np.ndarray  # (B,) judged samples per group

    @property
    def frac_zero_variance(self) -> float:
        return float(self.zero_variance.mean()) if self.zero_variance.size else 0.0

    @property
    def batch_pass_rate(self) -> float:
        valid = self.mean[~np.isnan(self.mean)]
        return float(valid.mean()) if valid.size else float("nan")


def group_stats(accuracy: np.ndarray, group_size: int) -> GroupStats:
    acc = np.asarray(accuracy, dtype=float)
    if group_size < 1 or acc.size % group_size:
        raise ValueError(f"{acc.size} samples do not split into groups of {group_size}")
    grid = acc.reshape(-1, group_size)  # (B, G)
    judged = (~np.isnan(grid)).sum(axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN groups: their mean is NaN, which is what we want
        mean = np.nanmean(grid, axis=1)
        spread = np.nanmax(grid, axis=1) - np.nanmin(grid, axis=1)
    zero_variance = (judged > 0) & (np.nan_to_num(spread, nan=1.0) == 0.0)
    return GroupStats(mean=mean, zero_variance=zero_variance, judged=judged)
