"""CurriculumSampler keeps TRL's RepeatSampler contract and replays the current epoch exactly on resume."""

import itertools
import json

import numpy as np
import pytest
from trl.trainer.utils import RepeatSampler

from curricula import GaussianCurriculum, OnlineCurriculum, PassRateTable
from rlkd.training.sampler import CurriculumSampler


class InOrder:
    """A curriculum stub that hands out chunks in dataset order and counts its decisions."""

    def __init__(self, n, batch_size):
        self.num_prompts, self.batch_size, self.num_batches = n, batch_size, n // batch_size
        self.calls = 0

    def next_batch(self):
        start = (self.calls * self.batch_size) % (self.num_prompts // self.batch_size * self.batch_size)
        self.calls += 1
        return list(range(start, start + self.batch_size))

    def metrics(self):
        return {"target_mean": float(self.calls)}


@pytest.mark.parametrize(
    "n, generations, batch, repeat",
    [
        (12, 2, 3, 1),  # the plain case: one generation batch per step
        (13, 4, 3, 2),  # a pool that does not split evenly (RepeatSampler drops the partial chunk), reuse twice
        (8, 1, 8, 3),  # one chunk per epoch, num_iterations x steps_per_generation = 3
    ],
)
def test_same_layout_and_length_as_trl_repeat_sampler(n, generations, batch, repeat):
    ours = CurriculumSampler(InOrder(n, batch), mini_repeat_count=generations, batch_size=batch, repeat_count=repeat)
    trl = RepeatSampler(list(range(n)), generations, batch_size=batch, repeat_count=repeat, shuffle=False)
    assert list(ours) == list(trl)  # same order when the curriculum picks in order: the same contract
    assert len(ours) == len(trl) == len(list(ours))  # a stable __len__ that matches what is yielded


def test_a_chunk_is_decided_only_when_its_first_index_is_pulled():
    stub = InOrder(12, 3)
    it = iter(CurriculumSampler(stub, mini_repeat_count=2, batch_size=3, repeat_count=2))
    next(it)
    assert stub.calls == 1
    list(itertools.islice(it, 11))  # the rest of chunk 0: 3 prompts x 2 generations x 2 repeats = 12 indices
    assert stub.calls == 1  # an online curriculum can still use everything observed until now
    next(it)
    assert stub.calls == 2


def _online(seed=0):
    rates = np.linspace(0.0, 0.625, 40)
    cur = OnlineCurriculum(PassRateTable(40, rates), batch_size=4, num_batches=10, seed=seed)
    return CurriculumSampler(cur, mini_repeat_count=2, batch_size=4, repeat_count=1)  # 10 chunks of 8 per epoch


class Reader:
    """Reads chunks as accelerate does: the next chunk's first index is pulled before this chunk is scored."""

    def __init__(self, sampler):
        self.sampler, self.it, self.peeked = sampler, iter(sampler), None
        self.chunk_len = sampler.batch_size * sampler.mini_repeat_count * sampler.repeat_count

    def step(self, train=True):
        head = [self.peeked] if self.peeked is not None else []
        chunk = head + list(itertools.islice(self.it, self.chunk_len - len(head)))
        self.peeked = next(self.it, None)
        if train:  # chunks skipped by a resume are never trained, so never scored
            self.sampler.curriculum.observe(chunk, (np.asarray(chunk) % 3 == 0).astype(float))
        return chunk


def test_resume_replays_the_epoch_and_continues_like_the_uninterrupted_run():
    a = _online()
    a.set_epoch(0)
    reader_a = Reader(a)
    trained = [reader_a.step() for _ in range(4)]  # 4 chunks scored; the 5th already pulled: the checkpoint
    state = json.loads(json.dumps(a.state_dict()))
    after = [reader_a.step() for _ in range(6)]  # the uninterrupted run to the end of the epoch

    b = _online(seed=123)  # a different seed: everything must come from the state
    b.load_state_dict(state)
    b.set_epoch(0)  # the Trainer restarts the epoch it stopped in and skips the trained chunks
    reader_b = Reader(b)
    assert [reader_b.step(train=False) for _ in range(4)] == trained  # replayed, not redrawn
    assert [reader_b.step() for _ in range(6)] == after  # from the prefetched chunk on: the uninterrupted run
    assert b.curriculum.table.rates().tolist() == a.curriculum.table.rates().tolist()


def test_a_new_epoch_starts_a_new_history_and_unset_epochs_advance_themselves():
    s = _online()
    first = list(s)  # no set_epoch: epoch 0
    second = list(s)  # no set_epoch again: taken as epoch 1, new chunks, not a replay of epoch 0
    assert first != second
    assert s.state_dict()["epoch"] == 1 and len(s.state_dict()["history"]) == s.chunks_per_epoch


def test_scored_returns_the_plan_of_the_chunk_and_drops_skipped_ones():
    stub = InOrder(12, 3)
    s = CurriculumSampler(stub, mini_repeat_count=1, batch_size=3, repeat_count=1)
    list(s)  # 4 chunks yielded
    assert s.scored([7, 6, 8]) == {"target_mean": 3.0}  # chunk 2 (decided third); chunks 0 and 1 were skipped
    assert s.scored([0, 1, 2]) == {}  # already dropped
    assert s.scored([9, 10, 11]) == {"target_mean": 4.0}


def test_gaussian_sampler_state_is_json():
    cur = GaussianCurriculum(np.repeat([0.0, 0.25, 0.5], 10), batch_size=5, num_batches=6)
    s = CurriculumSampler(cur, mini_repeat_count=2, batch_size=5, repeat_count=1)
    list(itertools.islice(iter(s), 11))
    assert json.loads(json.dumps(s.state_dict()))["history"] == s.state_dict()["history"]
