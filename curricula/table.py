"""The online pass-rate table: one running estimate per prompt, updated from the accuracy of each group trained on.

Offline estimates (from `rlkd passrate`) seed it; prompts without one read as `prior` until first observed, after
which the first observation replaces the prior and later ones move the estimate by an exponential moving average
(`ema` = weight of the newest group), so the table follows a policy that is getting better. It also counts each
prompt's streak of *settled* groups (every judged answer right, or every one wrong: no learning signal), which
the online curriculum's skipping reads.
Pure numpy; every rank applies the same gathered observations, so every rank holds the same table.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from curricula.protocol import CurriculumError


class PassRateTable:
    def __init__(
        self,
        num_prompts: int,
        initial: Sequence[float | None] | np.ndarray | None = None,
        *,
        prior: float = 0.5,
        ema: float = 0.5,
    ):
        if not 0.0 <= prior <= 1.0:
            raise CurriculumError(f"prior must be a pass rate in [0, 1], got {prior}")
        if not 0.0 < ema <= 1.0:
            raise CurriculumError(f"ema must be in (0, 1], got {ema}")
        self.prior, self.ema = prior, ema
        if initial is None:
            self._rate = np.full(num_prompts, np.nan)
        else:
            self._rate = np.array([np.nan if r is None else r for r in initial], dtype=float)
            if len(self._rate) != num_prompts:
                raise CurriculumError(f"initial has {len(self._rate)} estimates for {num_prompts} prompts")
            known = self._rate[~np.isnan(self._rate)]
            if known.size and not ((known >= 0) & (known <= 1)).all():
                raise CurriculumError("initial pass rates must be in [0, 1]")
        self._observations = np.zeros(num_prompts, dtype=np.int64)
        self._settled = np.zeros(num_prompts, dtype=np.int64)  # consecutive settled groups, up to now

    def __len__(self) -> int:
        return len(self._rate)

    def rates(self) -> np.ndarray:
        """Every prompt's estimate; `prior` where there is none yet."""
        return np.where(np.isnan(self._rate), self.prior, self._rate)

    def observations(self) -> np.ndarray:
        return self._observations.copy()

    def settled_streak(self) -> np.ndarray:
        """Per prompt, how many of its latest groups in a row were all right or all wrong (0: the last one varied)."""
        return self._settled.copy()

    def update(self, indices: Sequence[int], accuracy: Sequence[float]) -> None:
        """Fold in per-sample accuracies (indices may repeat: a group's samples are averaged; NaN is skipped)."""
        idx = np.asarray(indices, dtype=np.int64)
        acc = np.asarray(accuracy, dtype=float)
        judged = ~np.isnan(acc)
        idx, acc = idx[judged], acc[judged]
        if idx.size == 0:
            return
        if idx.min() < 0 or idx.max() >= len(self._rate):
            raise CurriculumError(f"observed prompt index {idx.max()} is outside the table of {len(self._rate)}")
        uniq, inv = np.unique(idx, return_inverse=True)
        means = np.bincount(inv, weights=acc) / np.bincount(inv)
        low = np.full(uniq.size, np.inf)
        high = np.full(uniq.size, -np.inf)
        np.minimum.at(low, inv, acc)
        np.maximum.at(high, inv, acc)
        self._settled[uniq] = np.where(low == high, self._settled[uniq] + 1, 0)
        old = self._rate[uniq]
        self._rate[uniq] = np.where(np.isnan(old), means, (1.0 - self.ema) * old + self.ema * means)
        self._observations[uniq] += 1

    def state_dict(self) -> dict:
        return {
            "rate": [None if np.isnan(r) else float(r) for r in self._rate],
            "observations": self._observations.tolist(),
            "settled": self._settled.tolist(),
            "prior": self.prior,
            "ema": self.ema,
        }

    def load_state_dict(self, state: dict) -> None:
        if len(state["rate"]) != len(self._rate):
            raise CurriculumError(
                f"the saved pass-rate table has {len(state['rate'])} prompts, this one {len(self._rate)}: resume "
                "with the same data and filter"
            )
        self._rate = np.array([np.nan if r is None else r for r in state["rate"]], dtype=float)
        self._observations = np.asarray(state["observations"], dtype=np.int64)
        # checkpoints from before skipping existed have no streaks: start them at zero
        self._settled = np.asarray(state.get("settled", np.zeros(len(self._rate))), dtype=np.int64)
