"""The sampler shape every curriculum follows (prime-rl's): yield batches of indices, observe results, checkpoint.

rlkd's trainer drives any object with this shape through one adapter (rlkd/training/sampler.py), so a new
curriculum is one small class here and never touches the trainer.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol, runtime_checkable


class CurriculumError(ValueError):
    """Bad curriculum input (rates out of range, a pool smaller than a batch, a foreign state); says what to fix."""


@runtime_checkable
class Curriculum(Protocol):
    num_prompts: int
    batch_size: int
    num_batches: int

    def __iter__(self) -> Iterator[list[int]]:
        """The remaining planned batches (of `num_batches`), each `batch_size` distinct prompt indices."""
        ...

    def next_batch(self) -> list[int]:
        """One more batch; keeps working past `num_batches` (the schedule stays at its end)."""
        ...

    def observe(self, indices: Sequence[int], accuracy: Sequence[float]) -> None:
        """Per-sample accuracy of the prompts at `indices` (repeats allowed, NaN = not judged)."""
        ...

    def state_dict(self) -> dict: ...

    def load_state_dict(self, state: dict) -> None: ...

    def metrics(self) -> dict[str, float]:
        """Facts about the last batch drawn (e.g. its target mean pass rate)."""
        ...
