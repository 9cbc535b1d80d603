"""The Gaussian curriculum's rules, each pinned: schedule direction, target allocation, availability bounds,
leftover fill, no repeats within a pass, determinism, state_dict round trip."""

import json

import numpy as np
import pytest

from curricula import (
    CurriculumError,
    GaussianCurriculum,
    OnlineCurriculum,
    PassRateTable,
    UniformCurriculum,
    allocate,
    gaussian_targets,
    gaussian_weights,
    pass_rate_levels,
    round_to_total,
    schedule_centre,
)

# 8-sample pass rates after the 0.75 filter: six levels 0, 1/8, ..., 5/8, 40 prompts each.
LEVELS6 = np.arange(6) / 8
POOL = np.repeat(LEVELS6, 40)


@pytest.mark.parametrize(
    "progress, schedule, expected",
    [
        (0.0, "linear", 0.75),  # the first batch is centred on `start` (easy: high pass rate)
        (1.0, "linear", 0.0),  # the last on `end` (hard)
        (0.5, "linear", 0.375),  # halfway: (0.75 + 0) / 2
        (0.5, "cosine", 0.375),  # cosine passes the midpoint at the same place ...
        (0.25, "cosine", 0.75 - 0.75 * (1 - np.cos(np.pi / 4)) / 2),  # ... but moves slower near the ends (0.64)
        (1.7, "linear", 0.0),  # past the plan the centre stays at the end
    ],
)
def test_schedule_centre(progress, schedule, expected):
    assert schedule_centre(progress, 0.75, 0.0, schedule) == pytest.approx(expected)


def test_schedule_moves_from_easy_to_hard():
    cur = GaussianCurriculum(POOL, batch_size=12, num_batches=10, sigma=0.1)
    plans = []
    for _ in cur:
        plans.append(cur.metrics())
    targets = [p["target_mean"] for p in plans]
    drawn = [p["batch_estimate_mean"] for p in plans]
    # Centre defaults: easiest level (5/8) first, hardest (0) last; targets fall monotonically.
    assert plans[0]["centre"] == pytest.approx(5 / 8) and plans[-1]["centre"] == pytest.approx(0.0)
    assert all(a > b for a, b in zip(targets, targets[1:]))
    # 120 of 240 prompts drawn: availability never binds, so what is drawn follows the target.
    assert drawn[0] > 0.5 and drawn[-1] < 0.1
    assert np.corrcoef(targets, drawn)[0, 1] > 0.95


def test_gaussian_targets_by_hand():
    # levels 0, .5, 1; centre .5; sigma .5: weights e^-.5, 1, e^-.5 = .60653, 1, .60653 (sum 2.21306)
    # -> shares .27407 .45186 .27407; of 10: 2.741 4.519 2.741 -> floors 2 4 2; the two left go to the
    # largest remainders (.741, .741): 3 4 3.
    assert gaussian_targets(np.array([0.0, 0.5, 1.0]), 0.5, 0.5, 10).tolist() == [3, 4, 3]
    w = gaussian_weights(np.array([0.0, 0.5, 1.0]), 0.5, 0.5)
    assert w == pytest.approx([0.27407, 0.45186, 0.27407], abs=1e-5)


def test_weights_far_from_every_level_do_not_vanish():
    # centre 40 sigmas away from all levels: naive exp() underflows to 0/0; the nearest level must get the mass.
    w = gaussian_weights(np.array([0.0, 0.125]), 1.0, 0.02)
    assert np.isfinite(w).all() and w.argmax() == 1 and w.sum() == pytest.approx(1.0)


@pytest.mark.parametrize(
    "shares, total, expected",
    [
        ([1, 1, 1], 10, [4, 3, 3]),  # 3.33 each: the one leftover goes to the first of equal remainders
        ([0.5, 0.3, 0.2], 7, [4, 2, 1]),  # 3.5 2.1 1.4 -> 3 2 1, one left to the largest remainder (.5)
        ([1, 0, 0], 5, [5, 0, 0]),  # all mass on one level
    ],
)
def test_round_to_total(shares, total, expected):
    assert round_to_total(np.array(shares, dtype=float), total).tolist() == expected


@pytest.mark.parametrize(
    "targets, available, priority, expected",
    [
        ([3, 4, 3], [10, 10, 10], None, [3, 4, 3]),  # plenty available: the targets stand
        # level 0 has 2 of its 5: 3 short; remaining pools 0, 7, 4 -> one at a time to the largest: level 1 thrice
        ([5, 3, 0], [2, 10, 4], None, [2, 6, 0]),
        # 5 short with pools 0, 3, 3: alternate between the two largest, ties to the lower index
        ([6, 0, 0], [1, 3, 3], None, [1, 3, 2]),
        # the same with priority on level 2 (nearer the centre): ties now go to level 2
        ([6, 0, 0], [1, 3, 3], [0.0, 0.0, 1.0], [1, 2, 3]),
        ([4, 4], [1, 2], None, [1, 2]),  # less available than asked: take everything, no more
    ],
)
def test_allocate_bounds_and_leftover_fill(targets, available, priority, expected):
    out = allocate(np.array(targets), np.array(available), None if priority is None else np.array(priority))
    assert out.tolist() == expected
    assert (out <= np.array(available)).all()


def test_levels_resolution():
    rates = np.array([0.0, 0.125, 0.13, 0.5, 0.5])
    levels, level_of = pass_rate_levels(rates)
    assert levels.tolist() == [0.0, 0.125, 0.13, 0.5] and level_of.tolist() == [0, 1, 2, 3, 3]  # exact values
    levels, level_of = pass_rate_levels(rates, resolution=8)
    assert levels.tolist() == [0.0, 0.125, 0.5] and level_of.tolist() == [0, 1, 1, 2, 2]  # 0.13 rounds to 1/8


def test_leftover_fill_in_a_batch_when_the_target_level_runs_dry():
    # Only 3 prompts at the hard level; the plan centres there (start=end=0) and asks for most of 8.
    rates = np.r_[np.zeros(3), np.full(20, 0.25), np.full(10, 0.5)]
    cur = GaussianCurriculum(rates, batch_size=8, num_batches=1, start=0.0, end=0.0, sigma=0.1)
    batch = next(iter(cur))
    counts = np.bincount(np.searchsorted([0.0, 0.25, 0.5], rates[batch]), minlength=3)
    # all 3 hard prompts, then the 5 left over come from the largest remaining pool (0.25: 20 > 10)
    assert counts.tolist() == [3, 5, 0]


def _make(kind, seed=0, n=50, batch=8, batches=40):
    rates = np.linspace(0, 0.625, n)
    if kind == "gaussian":
        return GaussianCurriculum(rates, batch, batches, seed=seed)
    if kind == "uniform":
        return UniformCurriculum(n, batch, batches, seed=seed)
    return OnlineCurriculum(PassRateTable(n, rates), batch, batches, seed=seed)


def test_uniform_never_draws_a_prompt_twice_before_the_pool_is_used_once():
    cur = _make("uniform")  # 50 prompts, batches of 8: passes end mid-batch (50 = 6*8 + 2)
    uses = np.zeros(50, dtype=int)
    first_pass = []
    for b, batch in enumerate(cur):
        assert len(batch) == 8 and len(set(batch)) == 8  # distinct within a batch
        uses[batch] += 1
        assert uses.max() - uses.min() <= 1  # nobody gets a second turn while someone waits for a first
        if b < 6:
            first_pass += batch
    assert len(set(first_pass)) == 48  # the first 6 batches never repeat a prompt
    assert cur.position == 40 and cur.passes >= 6  # 320 draws = 6 full passes and a bit


@pytest.mark.parametrize("kind", ["gaussian", "online"])
def test_one_pass_runs_never_repeat_a_prompt(kind):
    # 6 batches of 8 from 50 prompts: less than one pass, so the reuse quota is 1, the paper's one-pass rule
    drawn = [i for batch in _make(kind, batches=6) for i in batch]
    assert len(drawn) == 48 and len(set(drawn)) == 48


@pytest.mark.parametrize("kind", ["gaussian", "online"])
def test_many_passes_reuse_each_level_evenly(kind):
    cur = _make(kind)  # 320 draws from 50 prompts: 6.4 passes
    uses = np.zeros(50, dtype=int)
    for batch in cur:
        assert len(batch) == 8 and len(set(batch)) == 8  # distinct within a batch
        uses[batch] += 1
    levels, level_of = cur.current_levels()
    for lv in range(len(levels)):
        mine = uses[level_of == lv]
        assert mine.max() - mine.min() <= 2  # least-recently-drawn first within a level
    assert uses.max() <= 13  # the quota: twice the passes the run needs, ceil(2 * 320 / 50)


def test_schedule_holds_over_many_passes():
    # 600 prompts, 400 batches of 16 (~11 passes), sigma 0.1: every batch's estimated pass rate follows the plan's
    # target mean (a pass-by-pass rule swung 0.3-0.4 away from it, easy -> hard every pass)
    counts = {1 / 8: 200, 2 / 8: 130, 3 / 8: 100, 4 / 8: 90, 5 / 8: 80}
    rates = np.concatenate([np.full(c, r) for r, c in counts.items()])
    cur = GaussianCurriculum(rates, batch_size=16, num_batches=400, sigma=0.1)
    gaps = []
    for _ in cur:
        m = cur.metrics()
        gaps.append(abs(m["batch_estimate_mean"] - m["target_mean"]))
    assert np.percentile(gaps, 95) <= 0.08
    assert m["target_mean"] < 0.2  # and the plan did move from easy to hard


@pytest.mark.parametrize("kind", ["gaussian", "uniform", "online"])
def test_deterministic_for_a_seed(kind):
    assert list(_make(kind, seed=3)) == list(_make(kind, seed=3))
    assert list(_make(kind, seed=3)) != list(_make(kind, seed=4))


@pytest.mark.parametrize("kind", ["gaussian", "uniform", "online"])
def test_state_dict_round_trip_continues_exactly(kind):
    old = _make(kind)
    rng = np.random.default_rng(0)
    for _ in range(7):  # stop mid-pass, after observations (the online table moves)
        batch = old.next_batch()
        old.observe(np.repeat(batch, 4), rng.integers(0, 2, size=len(batch) * 4).astype(float))
    state = json.loads(json.dumps(old.state_dict()))  # it must survive a JSON checkpoint file
    new = _make(kind, seed=99)  # a different seed: everything must come from the state
    new.load_state_dict(state)
    assert [new.next_batch() for _ in range(20)] == [old.next_batch() for _ in range(20)]
    assert new.metrics() == old.metrics()


def test_iteration_yields_the_remaining_planned_batches_and_next_batch_keeps_going():
    cur = GaussianCurriculum(POOL, batch_size=10, num_batches=5)
    cur.next_batch()
    assert len(list(cur)) == 4  # 5 planned, 1 already drawn
    cur.next_batch()  # past the plan (accelerate prefetch): still a batch, centre at the end
    assert cur.metrics()["centre"] == pytest.approx(0.0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"pass_rates": [0.1, float("nan"), 0.2]}, "prompt 1 has no pass rate"),  # missing estimate: say which
        ({"pass_rates": [0.1, 1.5, 0.2]}, r"in \[0, 1\]; prompt 1 has 1.5"),  # not a rate
        ({"pass_rates": [0.1, 0.2], "batch_size": 3}, "only 2"),  # pool smaller than a batch
        ({"sigma": 0.0}, "sigma"),
        ({"schedule": "exp"}, "schedule"),
        ({"start": 2.0}, "start"),
    ],
)
def test_bad_input_is_one_clear_error(kwargs, message):
    args = {"pass_rates": [0.1, 0.2, 0.3], "batch_size": 2, "num_batches": 3, **kwargs}
    with pytest.raises(CurriculumError, match=message):
        GaussianCurriculum(args.pop("pass_rates"), args.pop("batch_size"), args.pop("num_batches"), **args)


def test_loading_a_state_for_another_pool_fails_clearly():
    state = GaussianCurriculum(np.zeros(10), 2, 3).state_dict()
    with pytest.raises(CurriculumError, match="10 prompts"):
        GaussianCurriculum(np.zeros(12), 2, 3).load_state_dict(state)
