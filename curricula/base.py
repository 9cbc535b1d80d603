"""What every pool-drawing curriculum shares: a seeded RNG, the pass bookkeeping, a position in the plan, and a
checkpointable state. Subclasses choose which unused prompts go into a batch (`_choose`) and say what the batch
was meant to be (`_batch_metrics`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from curricula.pool import PassPool
from curricula.protocol import CurriculumError


class PoolCurriculum:
    name = "pool"

    def __init__(self, num_prompts: int, batch_size: int, num_batches: int, *, seed: int = 0):
        if batch_size < 1 or num_batches < 1:
            raise CurriculumError(f"batch_size and num_batches must be >= 1, got {batch_size} and {num_batches}")
        if batch_size > num_prompts:
            raise CurriculumError(
                f"a batch holds {batch_size} distinct prompts but the pool has only {num_prompts}: use more prompts "
                "(or a looser pass-rate filter) or fewer prompts per generation batch"
            )
        self.num_prompts = num_prompts
        self.batch_size = batch_size
        self.num_batches = num_batches
        self.seed = seed
        self.position = 0  # batches drawn so far
        self._pool = PassPool(num_prompts)
        self._rng = np.random.default_rng(seed)
        self._last: dict[str, float] = {}

    # The schedule runs over the planned batches; batches drawn past the plan stay at its end.
    def progress(self, position: int | None = None) -> float:
        pos = self.position if position is None else position
        return min(pos / (self.num_batches - 1), 1.0) if self.num_batches > 1 else 0.0

    def __iter__(self) -> Iterator[list[int]]:
        while self.position < self.num_batches:
            yield self.next_batch()

    def next_batch(self) -> list[int]:
        chosen = self._pool.draw(self.batch_size, self._choose)
        batch = self._rng.permutation(chosen)
        self._last = self._batch_metrics(batch)
        self.position += 1
        return batch.tolist()

    def _choose(self, candidates: np.ndarray, n: int) -> np.ndarray:
        raise NotImplementedError

    def _batch_metrics(self, batch: np.ndarray) -> dict[str, float]:
        return {}

    def observe(self, indices: Sequence[int], accuracy: Sequence[float]) -> None:
        """Offline curricula keep their estimates; see OnlineCurriculum."""

    def metrics(self) -> dict[str, float]:
        return dict(self._last)

    @property
    def passes(self) -> int:
        return self._pool.passes

    def state_dict(self) -> dict:
        return {
            "name": self.name,
            "position": self.position,
            "rng": self._rng.bit_generator.state,
            "pool": self._pool.state_dict(),
            "last": self._last,
        }

    def load_state_dict(self, state: dict) -> None:
        if state.get("name") != self.name:
            raise CurriculumError(f"the saved state is for a '{state.get('name')}' curriculum, not '{self.name}'")
        self._pool.load_state_dict(state["pool"])
        self._rng.bit_generator.state = state["rng"]
        self.position = int(state["position"])
        self._last = dict(state.get("last", {}))
