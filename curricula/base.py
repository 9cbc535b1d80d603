"""What every pool-drawing curriculum shares: a seeded RNG, a position in the plan, and a checkpointable state.
Subclasses draw a batch's prompts (`_draw`: the uniform curriculum by passes, the Gaussian ones with reuse, see
curricula/reuse.py) and say what the batch was meant to be (`_batch_metrics`). `extra` draws more prompts at the
current position without moving the schedule on: what dynamic sampling's refill asks for."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

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
        batch = self._rng.permutation(self._draw(self.batch_size, np.empty(0, dtype=np.int64)))
        self._last = self._batch_metrics(batch)
        self.position += 1
        return batch.tolist()

    def extra(self, n: int, exclude: Sequence[int] = ()) -> list[int]:
        """`n` more distinct prompts as the current batch's plan would pick them (none of `exclude` while others are
        left), without moving the schedule on: the last batch drawn is the one being refilled."""
        excluded = np.unique(np.asarray(exclude, dtype=np.int64))
        if n + excluded.size > self.num_prompts:
            excluded = excluded[: max(0, self.num_prompts - n)]
        self.position -= 1  # the refill belongs to the batch just drawn
        try:
            return self._rng.permutation(self._draw(n, excluded)).tolist()
        finally:
            self.position += 1

    def _draw(self, n: int, exclude: np.ndarray) -> np.ndarray:
        """`n` distinct prompt indices for the batch at `self.position`, none of `exclude`."""
        raise NotImplementedError

    def observe(self, indices: Sequence[int], accuracy: Sequence[float]) -> None:
        """Offline curricula keep their estimates; see OnlineCurriculum."""

    def metrics(self) -> dict[str, float]:
        return dict(self._last)

    def state_dict(self) -> dict:
        return {"name": self.name, "position": self.position, "rng": self._rng.bit_generator.state, "last": self._last}

    def load_state_dict(self, state: dict) -> None:
        if state.get("name") != self.name:
            raise CurriculumError(f"the saved state is for a '{state.get('name')}' curriculum, not '{self.name}'")
        self._rng.bit_generator.state = state["rng"]
        self.position = int(state["position"])
        self._last = dict(state.get("last", {}))
