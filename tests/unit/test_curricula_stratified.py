"""Stratified curricula (one schedule per reasoning mode): batch shares, each stratum on its own schedule, routing of
observations and refill draws, state round trips, and the runtime choosing it for mixed-mode data."""

import json

import numpy as np
import pytest

from curricula import GaussianCurriculum, OnlineCurriculum, PassRateTable, StratifiedCurriculum
from curricula.stratified import shares


@pytest.mark.parametrize(
    "sizes, batch, expected",
    [
        ([354, 198], 16, [10, 6]),  # proportional (the demo's on/off pool after the filter)
        ([100, 100], 16, [8, 8]),
        ([1000, 5], 16, [15, 1]),  # a small stratum is never left out of a batch
        ([3, 14], 16, [3, 13]),  # a stratum gives at most what it holds
        ([1, 1, 100], 101, [1, 1, 99]),  # and what it cannot give goes to the others
    ],
)
def test_shares(sizes, batch, expected):
    assert shares(sizes, batch).tolist() == expected


def _demo_like():
    # on-mode prompts spread over 5 levels, off-mode ones mostly at the hardest (as in the demo's pool)
    on = np.repeat([1, 2, 3, 4, 5], [118, 62, 46, 67, 61]) / 8
    off = np.repeat([1, 2, 3, 4, 5], [144, 24, 14, 6, 10]) / 8
    rates = np.concatenate([on, off])
    strata = [np.arange(len(on)), np.arange(len(on), len(rates))]
    return rates, strata


def test_every_batch_holds_each_modes_share_and_each_follows_its_own_schedule():
    rates, strata = _demo_like()
    cur = StratifiedCurriculum(
        strata, lambda idx, size: GaussianCurriculum(rates[idx], size, 100, sigma=0.1), batch_size=16, num_batches=100
    )
    off = set(strata[1].tolist())
    first = None
    for b, batch in enumerate(cur):
        assert len(batch) == len(set(batch)) == 16
        assert sum(i in off for i in batch) == 6  # 198 / 552 of 16, in every batch: the mode trains all run long
        if b == 0:
            first = batch
    # each stratum started at its own easiest levels: the off stratum's first draws are its 5/8 and 4/8 prompts
    assert min(rates[[i for i in first if i in off]]) >= 4 / 8
    # unstratified, the mixed pool's schedule leaves the off mode (36% of the pool) out of most of the first half
    mixed = GaussianCurriculum(rates, 16, 100, sigma=0.1)
    first_half = [i for _ in range(50) for i in mixed.next_batch()]
    assert sum(i in off for i in first_half) / len(first_half) < 0.15


def test_observations_and_refill_draws_are_routed_to_their_stratum():
    rates, strata = _demo_like()
    tables = []

    def make(idx, size):
        tables.append(PassRateTable(len(idx), rates[idx]))
        return OnlineCurriculum(tables[-1], size, 50)

    cur = StratifiedCurriculum(strata, make, batch_size=16, num_batches=50)
    batch = cur.next_batch()
    cur.observe(np.repeat(batch, 2), np.ones(32))
    seen = [np.flatnonzero(t.observations()) for t in tables]
    assert sorted(strata[0][seen[0]].tolist() + strata[1][seen[1]].tolist()) == sorted(batch)
    extra = cur.extra(8, exclude=batch)
    assert len(extra) == 8 and not set(extra) & set(batch)
    assert sum(i in set(strata[1].tolist()) for i in extra) == 3  # refill splits like a batch (8 * 198 / 552)


def test_state_round_trip_continues_exactly():
    rates, strata = _demo_like()

    def build(seed):
        def make(idx, size):
            return OnlineCurriculum(PassRateTable(len(idx), rates[idx]), size, 40, seed=seed, skip_settled=True)

        return StratifiedCurriculum(strata, make, batch_size=16, num_batches=40, seed=seed)

    old, rng = build(0), np.random.default_rng(0)
    for _ in range(5):
        batch = old.next_batch()
        old.observe(np.repeat(batch, 4), rng.integers(0, 2, 64).astype(float))
    state = json.loads(json.dumps(old.state_dict()))
    new = build(7)
    new.load_state_dict(state)
    assert [new.next_batch() for _ in range(10)] == [old.next_batch() for _ in range(10)]
    assert new.metrics() == old.metrics()


def test_runtime_stratifies_mixed_mode_data_only():
    from collections import defaultdict
    from types import SimpleNamespace

    import datasets

    from rlkd.config import parse_config
    from rlkd.training.curriculum import CurriculumRuntime

    rows = [
        {"prompt": [{"role": "user", "content": f"q{i}"}], "solution": str(i), "thinking": i % 2 == 0}
        for i in range(40)
    ]
    base = {
        "model": {"name_or_path": "unused"},
        "data": {"generator": "arithmetic"},
        "rewards": [{"name": "accuracy"}],
        "wandb": {"mode": "disabled"},
        "grpo": {"output_dir": "unused"},
    }
    args = SimpleNamespace(
        generation_batch_size=32,
        per_device_train_batch_size=32,
        steps_per_generation=1,
        max_steps=4,
        gradient_accumulation_steps=1,
        seed=0,
        num_train_epochs=1,
    )
    trainer = SimpleNamespace(args=args, num_generations=4, num_iterations=1, _metrics={"train": defaultdict(list)})
    kinds = {}
    for stratify, thinking in (("mode", None), ("none", None), ("mode", True)):
        data = [{**r, "thinking": r["thinking"] if thinking is None else thinking} for r in rows]
        cfg = parse_config({**base, "curriculum": {"name": "online", "stratify": stratify}})
        runtime = CurriculumRuntime.from_config(cfg, datasets.Dataset.from_list(data))
        kinds[(stratify, thinking)] = type(runtime.build_sampler(trainer).curriculum).__name__
    assert kinds == {
        ("mode", None): "StratifiedCurriculum",  # both modes in the data: a schedule each
        ("none", None): "OnlineCurriculum",  # asked not to
        ("mode", True): "OnlineCurriculum",  # one mode: nothing to stratify
    }
