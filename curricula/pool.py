"""Bookkeeping for passes over the prompt pool: no prompt is drawn twice before every prompt has been drawn once.

The uniform curriculum draws through `PassPool.draw`, which hands a chooser the prompts still unused in the current
pass (the Gaussian curricula reuse prompts within a level instead: curricula/reuse.py). When fewer than a batch
remain, the batch takes all of them and the rest comes from a fresh pass (never repeating a prompt within the
batch), so use counts never differ by more than one.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from curricula.protocol import CurriculumError

# chooser(candidate_indices, n) -> n distinct entries of candidate_indices
Chooser = Callable[[np.ndarray, int], np.ndarray]


class PassPool:
    def __init__(self, size: int):
        if size < 1:
            raise CurriculumError("the prompt pool is empty: nothing to train on")
        self.size = size
        self.used = np.zeros(size, dtype=bool)
        self.passes = 0  # completed passes over the pool

    def available(self) -> np.ndarray:
        return np.flatnonzero(~self.used)

    def _new_pass(self) -> None:
        self.used[:] = False
        self.passes += 1

    def draw(self, n: int, choose: Chooser, exclude: np.ndarray | None = None) -> np.ndarray:
        """`n` distinct indices, chosen among the unused ones by `choose`; starts a new pass when needed. Indices in
        `exclude` are passed over (they stay unused for later) while enough others are left."""
        if n > self.size:
            raise CurriculumError(f"a batch of {n} distinct prompts needs a pool of at least {n}; it has {self.size}")
        skip = np.asarray(exclude if exclude is not None else [], dtype=np.int64)
        avail = np.setdiff1d(self.available(), skip, assume_unique=True)
        if avail.size == 0:
            self._new_pass()
            avail = np.setdiff1d(self.available(), skip, assume_unique=True)
        if avail.size >= n:
            chosen = np.asarray(choose(avail, n), dtype=np.int64)
            self.used[chosen] = True
            return chosen
        # The pass ends inside this batch: its last prompts all go in, the rest comes from the next pass.
        tail = avail
        self._new_pass()
        fresh = np.setdiff1d(self.available(), np.concatenate([tail, skip]))
        if fresh.size < n - tail.size:  # too few left outside `exclude`: take from it after all
            fresh = np.setdiff1d(self.available(), tail, assume_unique=True)
        head = np.asarray(choose(fresh, n - tail.size), dtype=np.int64)
        self.used[head] = True
        return np.concatenate([tail, head])

    def state_dict(self) -> dict:
        return {"size": self.size, "passes": self.passes, "used": np.flatnonzero(self.used).tolist()}

    def load_state_dict(self, state: dict) -> None:
        if state["size"] != self.size:
            raise CurriculumError(
                f"the saved curriculum state is for {state['size']} prompts, this pool has {self.size}: "
                "resume with the same data and pass-rate filter"
            )
        self.used[:] = False
        self.used[np.asarray(state["used"], dtype=np.int64)] = True
        self.passes = int(state["passes"])
