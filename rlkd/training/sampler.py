"""A curriculum as TRL's train sampler, keeping the RepeatSampler contract.

TRL's GRPOTrainer expects its sampler to yield each prompt `mini_repeat_count` (= num_generations) times in a row,
in chunks of `batch_size` unique prompts (one generation batch) each repeated `repeat_count` (= num_iterations x
steps_per_generation) times; the same sequence on every rank (accelerate hands rank r every r-th batch), and a
`__len__` that does not change (the Trainer derives epochs and steps from it). `CurriculumSampler` yields exactly
that, asking the curriculum for the next chunk only when the chunk's first index is pulled, so an online curriculum
decides as late as it can (accelerate still reads one batch ahead: a chunk is decided before the previous one is
scored). Every rank pulls chunks at the same point of the training loop and observes the same gathered rewards, so
every rank decides the same chunks.

Resume: on restart the Trainer re-iterates the current epoch from its start and skips the batches already trained.
The sampler therefore remembers the chunks decided in the current epoch (at most one pool's worth of indices) and
replays them, so the skipped chunks and the one already prefetched at the checkpoint are the same as in the
uninterrupted run, and new decisions continue from the saved curriculum state.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator, Sequence

from torch.utils.data import Sampler

from curricula import Curriculum


class CurriculumSampler(Sampler[int]):
    def __init__(self, curriculum: Curriculum, *, mini_repeat_count: int, batch_size: int, repeat_count: int):
        self.curriculum = curriculum
        self.mini_repeat_count = mini_repeat_count
        self.batch_size = batch_size
        self.repeat_count = repeat_count
        # Like RepeatSampler: an epoch is as many whole chunks as the pool holds.
        self.chunks_per_epoch = curriculum.num_prompts // batch_size
        self.epoch = 0
        self._epoch_set = False
        self._iterated = False
        self._history: list[list[int]] = []  # chunks decided in `_history_epoch`, in order
        self._history_meta: list[dict[str, float]] = []
        self._history_epoch = 0
        self._pending: deque[tuple[frozenset[int], dict[str, float]]] = deque()  # yielded, not yet scored
        self.decide_seconds = 0.0  # time spent in the curriculum, for the overhead benchmark

    def __len__(self) -> int:
        return self.chunks_per_epoch * self.batch_size * self.mini_repeat_count * self.repeat_count

    def set_epoch(self, epoch: int) -> None:
        """Called by the Trainer (through accelerate) before each epoch, including the one a resume starts in."""
        self.epoch = epoch
        self._epoch_set = True

    def __iter__(self) -> Iterator[int]:
        if self._iterated and not self._epoch_set:
            self.epoch += 1  # nobody told us: a new iteration is a new epoch
        self._iterated, self._epoch_set = True, False
        if self.epoch != self._history_epoch:
            self._history, self._history_meta, self._history_epoch = [], [], self.epoch
        for i in range(self.chunks_per_epoch):
            chunk, meta = self._chunk(i)
            self._pending.append((frozenset(chunk), meta))
            for _ in range(self.repeat_count):
                for index in chunk:
                    for _ in range(self.mini_repeat_count):
                        yield index

    def _chunk(self, i: int) -> tuple[list[int], dict[str, float]]:
        if i < len(self._history):
            return self._history[i], self._history_meta[i]
        t0 = time.perf_counter()
        chunk = self.curriculum.next_batch()
        meta = self.curriculum.metrics()
        self.decide_seconds += time.perf_counter() - t0
        self._history.append(chunk)
        self._history_meta.append(meta)
        return chunk, meta

    def scored(self, indices: Sequence[int]) -> dict[str, float]:
        """The plan of the chunk just scored (matched by its prompts); chunks yielded before it were skipped."""
        key = frozenset(int(i) for i in indices)
        for n, (chunk, meta) in enumerate(self._pending):
            if chunk == key:
                for _ in range(n + 1):
                    self._pending.popleft()
                return meta
        return {}

    def state_dict(self) -> dict:
        return {
            "curriculum": self.curriculum.state_dict(),
            "epoch": self._history_epoch,
            "history": self._history,
            "history_meta": self._history_meta,
        }

    def load_state_dict(self, state: dict) -> None:
        self.curriculum.load_state_dict(state["curriculum"])
        self._history = [list(c) for c in state["history"]]
        self._history_meta = [dict(m) for m in state["history_meta"]]
        self._history_epoch = self.epoch = int(state["epoch"])
        self._pending.clear()
        self._iterated = self._epoch_set = False
