"""The Llama-Nemotron progressive-batching curriculum: a Gaussian target over pass rate whose centre moves from easy
to hard across training.

For batch b of B: the centre is `start + (end - start) * s(b / (B - 1))` with s the schedule (linear or cosine);
each pass-rate level gets a share of the batch proportional to `exp(-(level - centre)^2 / 2 sigma^2)`, rounded to
whole prompts (largest remainders); no level gives more prompts than it has under their reuse quota (see
curricula/reuse.py: within a level least-recently-drawn first, each prompt at most as often as the run's passes, so
the schedule holds over many passes and a one-pass run never repeats a prompt); the slots left over go one at a time
to the levels with the largest remaining pools; the batch is shuffled.

The math is pure functions over arrays (tested directly); `GaussianCurriculum` adds the RNG, the pass bookkeeping
and the checkpointable state.

    cur = GaussianCurriculum(pass_rates, batch_size=72, num_batches=500, sigma=0.1)
    for batch in cur: ...   # 500 lists of 72 distinct dataset indices
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from curricula.base import PoolCurriculum
from curricula.protocol import CurriculumError
from curricula.reuse import ReusePool

Schedule = Literal["linear", "cosine"]
SCHEDULES = ("linear", "cosine")


def schedule_centre(progress: float, start: float, end: float, schedule: Schedule = "linear") -> float:
    """The target centre at `progress` in [0, 1]: `start` at 0, `end` at 1."""
    t = min(max(progress, 0.0), 1.0)
    if schedule == "cosine":
        t = (1.0 - np.cos(np.pi * t)) / 2.0  # slow at both ends, fastest mid-run
    elif schedule != "linear":
        raise CurriculumError(f"schedule must be one of {SCHEDULES}; got {schedule!r}")
    return float(start + (end - start) * t)


def gaussian_weights(levels: np.ndarray, centre: float, sigma: float) -> np.ndarray:
    """Normalised Gaussian weights of each pass-rate level around `centre`."""
    z = (np.asarray(levels, dtype=float) - centre) / sigma
    w = np.exp(-0.5 * (z**2 - np.min(z**2)))  # shifted so the nearest level has weight 1: no underflow to all-zero
    return w / w.sum()


def round_to_total(shares: np.ndarray, total: int) -> np.ndarray:
    """Whole numbers summing to `total`, proportional to `shares` (largest-remainder rounding; ties to lower index)."""
    exact = np.asarray(shares, dtype=float) * total / np.sum(shares)
    counts = np.floor(exact).astype(np.int64)
    short = total - int(counts.sum())
    if short:
        order = np.argsort(-(exact - counts), kind="stable")
        counts[order[:short]] += 1
    return counts


def gaussian_targets(levels: np.ndarray, centre: float, sigma: float, n: int) -> np.ndarray:
    """How many of `n` prompts each level should give, before availability."""
    return round_to_total(gaussian_weights(levels, centre, sigma), n)


def allocate(targets: np.ndarray, available: np.ndarray, priority: np.ndarray | None = None) -> np.ndarray:
    """Per-level counts: the targets bounded by what is available, then the shortfall filled one prompt at a time
    from the level with the largest remaining pool (ties: higher `priority`, then lower index)."""
    targets = np.asarray(targets, dtype=np.int64)
    available = np.asarray(available, dtype=np.int64)
    n = min(int(targets.sum()), int(available.sum()))
    counts = np.minimum(targets, available)
    remaining = available - counts
    prio = np.zeros(len(targets)) if priority is None else np.asarray(priority, dtype=float)
    for _ in range(n - int(counts.sum())):
        best = np.lexsort((np.arange(len(remaining)), -prio, -remaining))[0]
        counts[best] += 1
        remaining[best] -= 1
    return counts


def pass_rate_levels(rates: np.ndarray, resolution: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(level values ascending, level id of each prompt). `resolution` r rounds rates to multiples of 1/r (r = k
    samples gives the exact levels of k-sample estimates); None keeps every distinct value as its own level."""
    rates = np.asarray(rates, dtype=float)
    keyed = np.round(rates * resolution) / resolution if resolution else np.round(rates, 9)
    levels, level_of = np.unique(keyed, return_inverse=True)
    return levels, level_of


def check_rates(pass_rates: Sequence[float] | np.ndarray) -> np.ndarray:
    rates = np.asarray(pass_rates, dtype=float)
    if rates.ndim != 1:
        raise CurriculumError(f"pass_rates must be one value per prompt (1-D); got shape {rates.shape}")
    missing = np.flatnonzero(np.isnan(rates))
    if missing.size:
        raise CurriculumError(
            f"prompt {missing[0]} has no pass rate (nan; {missing.size} in all): estimate them with `rlkd passrate`, "
            "or use the online curriculum, which starts them from a prior"
        )
    bad = np.flatnonzero((rates < 0.0) | (rates > 1.0))
    if bad.size:
        raise CurriculumError(f"pass rates must be in [0, 1]; prompt {bad[0]} has {rates[bad[0]]}")
    return rates


class GaussianCurriculum(PoolCurriculum):
    """Batches of distinct prompts whose pass rates follow a Gaussian target that moves from easy to hard.

    `start`/`end`: the centre's first and last pass rate (default: the pool's easiest and hardest levels when the
    curriculum is made);
    `sigma`: the width, in pass-rate units; `levels`: see `pass_rate_levels`.
    """

    name = "gaussian"

    def __init__(
        self,
        pass_rates: Sequence[float] | np.ndarray,
        batch_size: int,
        num_batches: int,
        *,
        start: float | None = None,
        end: float | None = None,
        sigma: float = 0.1,
        schedule: Schedule = "linear",
        seed: int = 0,
        levels: int | None = None,
    ):
        rates = check_rates(pass_rates)
        super().__init__(len(rates), batch_size, num_batches, seed=seed)
        if not sigma > 0:
            raise CurriculumError(f"sigma must be > 0, got {sigma}")
        if schedule not in SCHEDULES:
            raise CurriculumError(f"schedule must be one of {SCHEDULES}; got {schedule!r}")
        for label, value in (("start", start), ("end", end)):
            if value is not None and not 0.0 <= value <= 1.0:
                raise CurriculumError(f"{label} must be a pass rate in [0, 1], got {value}")
        if levels is not None and levels < 1:
            raise CurriculumError(f"levels must be >= 1, got {levels}")
        self._rates = rates
        self._reuse = ReusePool(len(rates), batch_size * num_batches)
        self._draws = 0  # draw calls so far (batches and refills): the clock of least-recently-drawn
        self.start, self.end, self.sigma, self.schedule, self.levels = start, end, sigma, schedule, levels
        self._plan: dict[str, float] = {}
        self._levels: tuple[np.ndarray, np.ndarray] | None = None
        # The schedule is a plan made once: by default from the pool's easiest to its hardest level at the start
        # (an online table's extremes are its noisiest estimates, so they do not steer it).
        first = pass_rate_levels(rates, levels)[0]
        self._start = float(first[-1]) if start is None else start
        self._end = float(first[0]) if end is None else end

    def current_rates(self) -> np.ndarray:
        """The estimates batches are drawn by (fixed here; the online curriculum's move)."""
        return self._rates

    def current_levels(self) -> tuple[np.ndarray, np.ndarray]:
        """(level values, level of each prompt) for the current rates; fixed rates are grouped once."""
        if self._levels is None:
            self._levels = pass_rate_levels(self._rates, self.levels)
        return self._levels

    def _centre(self, position: int | None = None) -> float:
        return schedule_centre(self.progress(position), self._start, self._end, self.schedule)

    def _candidates(self, n: int, exclude: np.ndarray) -> np.ndarray:
        """Prompts this batch may take (under the reuse quota, not excluded); the online curriculum also skips."""
        return np.setdiff1d(self._reuse.candidates(n + exclude.size), exclude, assume_unique=True)

    def _draw(self, n: int, exclude: np.ndarray) -> np.ndarray:
        return self._allocate(self._candidates(n, exclude), n)

    def _allocate(self, candidates: np.ndarray, n: int) -> np.ndarray:
        """`n` of `candidates` by the Gaussian target at the current position, least recently drawn first."""
        levels, level_of = self.current_levels()
        centre = self._centre()
        cand_level = level_of[candidates]
        available = np.bincount(cand_level, minlength=len(levels))
        weights = gaussian_weights(levels, centre, self.sigma)
        targets = round_to_total(weights, n)
        counts = allocate(targets, available, priority=weights)
        picked = [
            self._reuse.least_recent(candidates[cand_level == lv], c, self._rng) for lv, c in enumerate(counts) if c
        ]
        chosen = np.concatenate(picked) if picked else np.empty(0, dtype=np.int64)
        self._reuse.record(chosen, self._draws)
        self._draws += 1
        # The plan is the target before availability, so the metric shows what the schedule asked for.
        self._plan = {"centre": centre, "target_mean": float(np.dot(weights, levels))}
        return chosen

    def state_dict(self) -> dict:
        return {**super().state_dict(), "reuse": self._reuse.state_dict(), "draws": self._draws}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self._reuse.load_state_dict(state["reuse"])
        self._draws = int(state["draws"])

    def _batch_metrics(self, batch: np.ndarray) -> dict[str, float]:
        return {**self._plan, "batch_estimate_mean": float(self.current_rates()[batch].mean())}
