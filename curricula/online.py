"""The Gaussian curriculum over live pass rates: the table is updated after every scored batch and later batches
are drawn by it (beyond the paper, which estimates pass rates once, before training).

Estimates are continuous (moving averages), so they are grouped into `levels` equal steps (default 8, the
resolution of 8-sample estimates). The centre's default start/end are the table's easiest and hardest levels when
the curriculum is made (with no offline estimates, all prompts sit at the prior, and the centre stays there: batches
near the prior, 0.5 by default, where groups carry the most signal). Prompts with no offline estimate start at the
table's prior.

Skipping before rollout (`skip_settled`, after GRESO, arXiv 2506.02177): a prompt whose latest `s` groups were all
settled (all right or all wrong) is passed over when a batch is drawn with probability `skip_probability(s)` =
min(SKIP_MAX, 1 − 2^−s): one settled group is weak evidence (a prompt at pass rate 0.5 is all-right or all-wrong in
8 samples 0.8% of the time, but one at 0.9 is all-right 43% of the time), each further one halves the chance it is
worth its rollouts, and the cap keeps every prompt coming back now and then (1 draw in 10 at least) so the table
stays true when the policy changes. When skipping would leave too few prompts for the batch, the skipped ones with
the shortest streaks come back first.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from curricula.gaussian import GaussianCurriculum, pass_rate_levels
from curricula.table import PassRateTable

SKIP_MAX = 0.9  # a settled prompt is still drawn at least 1 time in 10 it is a candidate


def skip_probability(streak: np.ndarray) -> np.ndarray:
    """Chance of passing over a prompt whose latest `streak` groups were all settled (0 for none)."""
    s = np.asarray(streak, dtype=float)
    return np.minimum(SKIP_MAX, 1.0 - np.power(2.0, -s))


class OnlineCurriculum(GaussianCurriculum):
    name = "online"

    def __init__(
        self,
        table: PassRateTable,
        batch_size: int,
        num_batches: int,
        *,
        levels: int | None = 8,
        skip_settled: bool = False,
        **schedule,
    ):
        """`schedule`: GaussianCurriculum's keywords (start, end, sigma, schedule, seed); only the levels default
        differs, because live estimates are moving averages rather than k-sample fractions."""
        super().__init__(table.rates(), batch_size, num_batches, levels=levels, **schedule)
        self.table = table
        self.skip_settled = skip_settled
        self._skipped = 0  # prompts passed over while drawing the last batch

    def _candidates(self, n: int, exclude: np.ndarray) -> np.ndarray:
        candidates = super()._candidates(n, exclude)
        self._skipped = 0
        if not self.skip_settled:
            return candidates
        streak = self.table.settled_streak()[candidates]
        skip = self._rng.random(candidates.size) < skip_probability(streak)
        short = n - int(np.count_nonzero(~skip))
        if short > 0:  # bring back the skipped prompts with the shortest streaks
            back = np.flatnonzero(skip)[np.argsort(streak[skip], kind="stable")[:short]]
            skip[back] = False
        self._skipped = int(np.count_nonzero(skip))
        return candidates[~skip]

    def _batch_metrics(self, batch: np.ndarray) -> dict[str, float]:
        metrics = super()._batch_metrics(batch)
        if self.skip_settled:
            metrics["skipped_prompts"] = float(self._skipped)
        return metrics

    def current_rates(self) -> np.ndarray:
        return self.table.rates()

    def current_levels(self) -> tuple[np.ndarray, np.ndarray]:
        return pass_rate_levels(self.table.rates(), self.levels)  # the table moves: regroup every batch

    def observe(self, indices: Sequence[int], accuracy: Sequence[float]) -> None:
        self.table.update(indices, accuracy)

    def state_dict(self) -> dict:
        return {**super().state_dict(), "table": self.table.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.table.load_state_dict(state["table"])
