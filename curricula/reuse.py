"""Reuse bookkeeping for curricula whose schedule must hold over many passes: least-recently-drawn first, each
prompt drawn at most `quota` times.

The paper's curriculum assumes one pass over a large pool. Over many passes (the tiny demo: ~10), a rule of "no
prompt twice before every prompt once" makes each pass drain the easy levels first and then fill from the hard ones,
so batch difficulty swings easy → hard every pass instead of once over the run. Here a prompt may come back before
the pool is used up, so each batch can follow the schedule, but:
- within a level, prompts are drawn least-recently-drawn first (ties broken at random), so a level's prompts are
  reused evenly (draw counts within a level differ by at most one while its membership is fixed);
- no prompt is drawn more than `quota` times: twice the passes the run needs (`ceil(2 · draws / pool)`), since a
  linear schedule dwells on the middle levels longer than on the ends (on a 600-prompt pool over ~11 passes, a quota
  of 1× left the batch mean 0.15 from its target at the 95th percentile, 2× 0.012; benchmarks/curriculum_schedule.py).
  A level the schedule asks for more often than that gives what it can and the rest comes from other levels, as in
  the paper. With a run of one pass or less the quota is 1: no prompt repeats, exactly the one-pass rule.
Past the planned draws (accelerate reads ahead) the quota grows so a batch can always be filled.
"""

from __future__ import annotations

import math

import numpy as np

from curricula.protocol import CurriculumError

REUSE_SLACK = 2  # a prompt may be drawn up to this many times the run's average passes


class ReusePool:
    def __init__(self, size: int, planned_draws: int):
        if size < 1:
            raise CurriculumError("the prompt pool is empty: nothing to train on")
        self.size = size
        passes = planned_draws / size
        self.planned_quota = 1 if passes <= 1 else math.ceil(REUSE_SLACK * passes)
        self.uses = np.zeros(size, dtype=np.int64)
        self.last = np.full(size, -1, dtype=np.int64)  # the draw (batch position) each prompt was last in; -1 never

    def candidates(self, n: int) -> np.ndarray:
        """Prompts still under their quota, ascending; the quota is raised when fewer than `n` are left."""
        quota = max(self.planned_quota, int(self.uses.min()) + 1)
        while np.count_nonzero(self.uses < quota) < n:
            quota += 1
        return np.flatnonzero(self.uses < quota)

    def least_recent(self, pool: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
        """`n` of `pool`, least recently drawn first; among equally recent ones a seeded random choice."""
        if n >= pool.size:
            return pool
        order = np.argsort(self.last[pool], kind="stable")
        ranked, last = pool[order], self.last[pool][order]
        cut = last[n - 1]  # the recency at which the batch fills up: take everything older, then draw among these
        older = ranked[last < cut]
        tied = ranked[last == cut]
        return np.concatenate([older, rng.choice(tied, size=n - older.size, replace=False)])

    def record(self, chosen: np.ndarray, position: int) -> None:
        self.uses[chosen] += 1
        self.last[chosen] = position

    def state_dict(self) -> dict:
        return {"size": self.size, "uses": self.uses.tolist(), "last": self.last.tolist()}

    def load_state_dict(self, state: dict) -> None:
        if state["size"] != self.size:
            raise CurriculumError(
                f"the saved curriculum state is for {state['size']} prompts, this pool has {self.size}: "
                "resume with the same data and pass-rate filter"
            )
        self.uses = np.asarray(state["uses"], dtype=np.int64)
        self.last = np.asarray(state["last"], dtype=np.int64)
