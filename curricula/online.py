"""The Gaussian curriculum over live pass rates: the table is updated after every scored batch and later batches
are drawn by it (beyond the paper, which estimates pass rates once, before training).

Estimates are continuous (moving averages), so they are grouped into `levels` equal steps (default 8, the
resolution of 8-sample estimates). The centre's default start/end are the table's easiest and hardest levels when
the curriculum is made (with no offline estimates, all prompts sit at the prior, and the centre stays there: batches
near the prior, 0.5 by default, where groups carry the most signal). Prompts with no offline estimate start at the
table's prior.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from curricula.gaussian import GaussianCurriculum, pass_rate_levels
from curricula.table import PassRateTable


class OnlineCurriculum(GaussianCurriculum):
    name = "online"

    def __init__(self, table: PassRateTable, batch_size: int, num_batches: int, *, levels: int | None = 8, **schedule):
        """`schedule`: GaussianCurriculum's keywords (start, end, sigma, schedule, seed); only the levels default
        differs, because live estimates are moving averages rather than k-sample fractions."""
        super().__init__(table.rates(), batch_size, num_batches, levels=levels, **schedule)
        self.table = table

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
