"""One curriculum per stratum of the pool (e.g. per reasoning mode), every batch drawing from each in proportion.

Why: the pass-rate curriculum orders prompts easy → hard, and strata of different difficulty then train at different
times. In the demo, 73% of the thinking-off prompts sit at the hardest level (pass rate 1/8) while thinking-on
prompts spread over every level, so a schedule over the mixed pool fills the first three quarters of the run with
thinking-on prompts: thinking off goes untrained until the end and forgets meanwhile (measured: off accuracy fell
2 points while on rose 5). Stratified, each batch holds each stratum's share of the pool (8 + 8 of 16 for an even
mix of modes), and each stratum moves along its own schedule from its own easiest to its own hardest level.

    strata = [np.flatnonzero(modes), np.flatnonzero(~modes)]
    cur = StratifiedCurriculum(strata, lambda idx, size: GaussianCurriculum(rates[idx], size, 500), 16, 500)

The per-stratum curricula see local indices (0 .. len(stratum) - 1); this class maps them to pool indices, routes
observations back, and combines their metrics weighted by batch share.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np

from curricula.gaussian import round_to_total
from curricula.protocol import Curriculum, CurriculumError

PLAN_KEYS = ("target_mean", "batch_estimate_mean", "centre")  # averaged by share
COUNT_KEYS = ("skipped_prompts",)  # summed


def shares(sizes: Sequence[int], batch_size: int) -> np.ndarray:
    """Prompts per batch for each stratum: proportional to its size, at least one for every stratum while the batch
    has room, and never more than a stratum holds."""
    sizes = np.asarray(sizes, dtype=np.int64)
    if batch_size > sizes.sum():
        raise CurriculumError(f"a batch holds {batch_size} distinct prompts but the strata hold only {sizes.sum()}")
    out = np.minimum(round_to_total(sizes.astype(float), batch_size), sizes)
    for i in np.argsort(-sizes, kind="stable"):  # empty slots of a small stratum go to the largest with room
        while out.sum() < batch_size and out[i] < sizes[i]:
            out[i] += 1
    for i in np.flatnonzero((out == 0) & (sizes > 0)):  # every stratum in every batch, taken from the largest
        j = int(np.argmax(out))
        if out[j] > 1:
            out[j] -= 1
            out[i] += 1
    return out


class StratifiedCurriculum:
    name = "stratified"

    def __init__(
        self,
        strata: Sequence[Sequence[int]],
        make: Callable[[np.ndarray, int], Curriculum],
        batch_size: int,
        num_batches: int,
        *,
        seed: int = 0,
    ):
        self.strata = [np.asarray(s, dtype=np.int64) for s in strata if len(s)]
        if not self.strata:
            raise CurriculumError("the prompt pool is empty: nothing to train on")
        self.num_prompts = int(sum(len(s) for s in self.strata))
        self.batch_size, self.num_batches = batch_size, num_batches
        self.share = shares([len(s) for s in self.strata], batch_size)
        self.subs = [make(idx, int(k)) for idx, k in zip(self.strata, self.share) if k]
        self.strata = [idx for idx, k in zip(self.strata, self.share) if k]
        self.share = self.share[self.share > 0]
        # pool index -> (stratum, local index), for routing observations
        self._stratum = np.full(max(int(s.max()) for s in self.strata) + 1, -1, dtype=np.int64)
        self._local = np.zeros_like(self._stratum)
        for k, idx in enumerate(self.strata):
            self._stratum[idx], self._local[idx] = k, np.arange(len(idx))
        self.position = 0
        self._rng = np.random.default_rng(seed)

    def __iter__(self) -> Iterator[list[int]]:
        while self.position < self.num_batches:
            yield self.next_batch()

    def next_batch(self) -> list[int]:
        batch = np.concatenate([idx[np.asarray(sub.next_batch())] for idx, sub in zip(self.strata, self.subs)])
        self.position += 1
        return self._rng.permutation(batch).tolist()

    def extra(self, n: int, exclude: Sequence[int] = ()) -> list[int]:
        """`n` more prompts, split over the strata like a batch (for refill)."""
        excluded = np.asarray(exclude, dtype=np.int64)
        excluded = excluded[excluded < len(self._stratum)]
        sizes = [len(s) for s in self.strata]
        counts = shares(sizes, min(n, self.num_prompts)) if n < self.num_prompts else np.asarray(sizes)
        out = []
        for k, (idx, sub, c) in enumerate(zip(self.strata, self.subs, counts)):
            if c:
                mine = self._local[excluded[self._stratum[excluded] == k]]
                out.append(idx[np.asarray(sub.extra(int(c), exclude=mine.tolist()), dtype=np.int64)])
        picked = np.concatenate(out) if out else np.empty(0, dtype=np.int64)
        return self._rng.permutation(picked).tolist()

    def observe(self, indices: Sequence[int], accuracy: Sequence[float]) -> None:
        idx = np.asarray(indices, dtype=np.int64)
        acc = np.asarray(accuracy, dtype=float)
        for k, sub in enumerate(self.subs):
            mine = self._stratum[idx] == k
            if mine.any():
                sub.observe(self._local[idx[mine]], acc[mine])

    def metrics(self) -> dict[str, float]:
        per = [sub.metrics() for sub in self.subs]
        weights = self.share / self.share.sum()
        out = {}
        for key in PLAN_KEYS:
            if all(key in m for m in per):
                out[key] = float(sum(w * m[key] for w, m in zip(weights, per)))
        for key in COUNT_KEYS:
            if any(key in m for m in per):
                out[key] = float(sum(m.get(key, 0.0) for m in per))
        return out

    def state_dict(self) -> dict:
        return {
            "name": self.name,
            "position": self.position,
            "rng": self._rng.bit_generator.state,
            "sizes": [len(s) for s in self.strata],
            "subs": [sub.state_dict() for sub in self.subs],
        }

    def load_state_dict(self, state: dict) -> None:
        if state.get("name") != self.name or state["sizes"] != [len(s) for s in self.strata]:
            raise CurriculumError(
                f"the saved curriculum state is for strata of {state.get('sizes')} prompts, this pool has "
                f"{[len(s) for s in self.strata]}: resume with the same data and pass-rate filter"
            )
        for sub, sub_state in zip(self.subs, state["subs"]):
            sub.load_state_dict(sub_state)
        self._rng.bit_generator.state = state["rng"]
        self.position = int(state["position"])
