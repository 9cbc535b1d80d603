"""The curricula's side of refill and skipping: `extra` draws at the current target without moving the schedule,
the settled streak the table keeps, the skip probabilities and what skipping does to a batch, and state round trips
with all of it."""

import json

import numpy as np
import pytest

from curricula import GaussianCurriculum, OnlineCurriculum, PassRateTable, UniformCurriculum
from curricula.online import SKIP_MAX, skip_probability
from curricula.reuse import ReusePool


@pytest.mark.parametrize(
    "streak, expected",
    [
        (0, 0.0),  # the last group varied: never skipped
        (1, 0.5),  # one settled group: weak evidence
        (2, 0.75),  # each further one halves the chance the prompt is worth its rollouts
        (3, 0.875),
        (10, SKIP_MAX),  # capped: a settled prompt still comes back 1 time in 10
    ],
)
def test_skip_probability(streak, expected):
    assert skip_probability(np.array([streak]))[0] == pytest.approx(expected)


def test_table_counts_settled_streaks():
    table = PassRateTable(3)
    table.update([0, 0, 1, 1, 2, 2], [1, 1, 0, 1, 0, 0])  # 0 all right, 1 mixed, 2 all wrong
    table.update([0, 0, 2, 2], [1, 1, 1, 0])  # 0 settled again; 2 varies now
    assert table.settled_streak().tolist() == [2, 0, 0]
    table.update([1, 1], [np.nan, 1])  # one judged sample is settled (nothing to compare it with)
    assert table.settled_streak().tolist() == [2, 1, 0]
    state = json.loads(json.dumps(table.state_dict()))
    fresh = PassRateTable(3)
    fresh.load_state_dict(state)
    assert fresh.settled_streak().tolist() == [2, 1, 0]
    del state["settled"]  # a checkpoint from before skipping existed
    fresh.load_state_dict(state)
    assert fresh.settled_streak().tolist() == [0, 0, 0]


@pytest.mark.parametrize("kind", ["gaussian", "uniform"])
def test_extra_draws_at_the_current_target_without_moving_on(kind):
    rates = np.r_[np.zeros(20), np.full(20, 0.5), np.ones(20)]
    if kind == "gaussian":
        cur = GaussianCurriculum(rates, batch_size=6, num_batches=10, start=1.0, end=0.0, sigma=0.05)
    else:
        cur = UniformCurriculum(60, batch_size=6, num_batches=10)
    batch = cur.next_batch()
    position, metrics = cur.position, cur.metrics()
    extra = cur.extra(6, exclude=batch)
    assert len(extra) == len(set(extra)) == 6 and not set(extra) & set(batch)  # other prompts than the batch's
    assert cur.position == position and cur.metrics() == metrics  # the schedule did not move, nor its plan
    if kind == "gaussian":
        assert rates[extra].tolist() == [1.0] * 6  # the first batch's target: the easiest level


def test_extra_prompts_count_towards_reuse():
    rates = np.full(8, 0.5)
    cur = GaussianCurriculum(rates, batch_size=4, num_batches=2)  # 8 draws over 8 prompts: one pass, quota 1
    first = cur.next_batch()
    extra = cur.extra(2, exclude=first)
    second = cur.next_batch()
    never = set(range(8)) - set(first) - set(extra)
    assert len(never) == 2 and never <= set(second)  # the extras were drawn: only 2 prompts were left unused ...
    assert len(set(second) & set(first + extra)) == 2  # ... so the quota grew and 2 came back


def test_reuse_pool_least_recent_first_and_quota():
    pool = ReusePool(6, planned_draws=12)  # 2 passes: quota ceil(2 * 2) = 4
    rng = np.random.default_rng(0)
    pool.record(np.array([0, 1, 2]), 0)
    pool.record(np.array([3]), 1)
    picked = pool.least_recent(np.arange(6), 3, rng)
    assert set(picked) == {4, 5, 0} or set(picked) == {4, 5, 1} or set(picked) == {4, 5, 2}  # never drawn first
    pool.uses[:] = [4, 4, 4, 4, 0, 0]
    assert pool.candidates(2).tolist() == [4, 5]  # at quota: not candidates
    assert pool.candidates(3).tolist() == [0, 1, 2, 3, 4, 5]  # too few under it: the quota grows


def _online(skip, seed=0, n=40):
    # a wide target (sigma 10): every level about equally likely, so only skipping decides what is drawn
    table = PassRateTable(n, np.full(n, 0.5))
    cur = OnlineCurriculum(table, batch_size=8, num_batches=30, skip_settled=skip, seed=seed, sigma=10.0)
    return cur, table


def test_skipping_passes_over_settled_prompts_and_logs_it():
    cur, table = _online(skip=True)
    settled = np.arange(20)  # half the pool: all right or all wrong in each of their last 5 groups
    for k in range(5):
        table.update(np.repeat(settled, 4), np.full(80, float(k % 2)))
    drawn = [cur.next_batch() for _ in range(10)]
    share = np.mean([i < 20 for b in drawn for i in b])
    assert share < 0.3  # without skipping half the draws would be settled prompts; at streak 5 about 1 in 10 stays
    assert any(i < 20 for b in drawn for i in b)  # but they still come back now and then
    assert cur.metrics()["skipped_prompts"] > 0


def test_skipping_never_starves_a_batch():
    cur, table = _online(skip=True, n=10)
    table.update(np.repeat(np.arange(10), 4), np.ones(40))  # every prompt settled
    for _ in range(5):
        batch = cur.next_batch()
        assert len(batch) == 8 and len(set(batch)) == 8


def test_skip_off_draws_what_it_always_drew():
    on, _ = _online(skip=False)
    assert "skipped_prompts" not in (on.next_batch() and on.metrics())


def test_online_state_round_trip_with_skipping_continues_exactly():
    old, table = _online(skip=True)
    rng = np.random.default_rng(0)
    for _ in range(6):
        batch = old.next_batch()
        old.observe(np.repeat(batch, 4), rng.integers(0, 2, size=len(batch) * 4).astype(float))
        old.extra(2, exclude=batch)
    state = json.loads(json.dumps(old.state_dict()))
    new, _ = _online(skip=True, seed=99)
    new.load_state_dict(state)
    assert [new.next_batch() for _ in range(10)] == [old.next_batch() for _ in range(10)]
