"""Uniform batches: every unused prompt equally likely, i.e. a fresh random permutation per pass (what TRL's
RepeatSampler does), in the curriculum shape so it can be checkpointed and report the batches' estimated pass rate.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from curricula.base import PoolCurriculum
from curricula.gaussian import check_rates
from curricula.pool import PassPool


class UniformCurriculum(PoolCurriculum):
    name = "uniform"

    def __init__(
        self,
        num_prompts: int,
        batch_size: int,
        num_batches: int,
        *,
        seed: int = 0,
        pass_rates: Sequence[float] | np.ndarray | None = None,
    ):
        super().__init__(num_prompts, batch_size, num_batches, seed=seed)
        self._pool = PassPool(num_prompts)
        self._rates = None if pass_rates is None else check_rates(pass_rates)
        if self._rates is not None and len(self._rates) != num_prompts:
            raise ValueError(f"pass_rates has {len(self._rates)} entries for {num_prompts} prompts")

    def _draw(self, n: int, exclude: np.ndarray) -> np.ndarray:
        return self._pool.draw(n, lambda candidates, k: self._rng.choice(candidates, size=k, replace=False), exclude)

    @property
    def passes(self) -> int:
        return self._pool.passes

    def _batch_metrics(self, batch: np.ndarray) -> dict[str, float]:
        if self._rates is None:
            return {}
        # Uniform sampling "targets" the pool's mean pass rate.
        return {"target_mean": float(self._rates.mean()), "batch_estimate_mean": float(self._rates[batch].mean())}

    def state_dict(self) -> dict:
        return {**super().state_dict(), "pool": self._pool.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self._pool.load_state_dict(state["pool"])
