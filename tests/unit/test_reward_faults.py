"""A reward that hangs, returns NaN or raises costs one batch of that reward (None, counted, logged once), never
the run."""

import asyncio
import logging
import math
import time

import pytest

from rewards.registry import _guarded


def _metrics():
    logged = {}
    return logged, lambda name, value: logged.setdefault(name, []).append(value)


def test_nan_and_inf_become_none_and_are_counted(caplog):
    reward = _guarded(lambda completions, **kw: [1.0, math.nan, math.inf, None], "shaky")
    logged, log_metric = _metrics()
    with caplog.at_level(logging.ERROR):
        out = reward(["a", "b", "c", "d"], log_metric=log_metric)
        reward(["a", "b", "c", "d"], log_metric=log_metric)
    assert out == [1.0, None, None, None]  # None stays None (a skip), the two non-finite values join it
    assert logged["rewards/shaky/errors"] == [2.0, 2.0]
    assert reward.errors() == 4
    assert sum("NaN or infinity" in r.message for r in caplog.records) == 1  # logged once, not every batch


def test_a_hung_reward_is_abandoned_after_its_batch_timeout():
    def hangs(completions, **kw):
        time.sleep(60)
        return [1.0] * len(completions)

    reward = _guarded(hangs, "slow", batch_timeout=0.5)
    logged, log_metric = _metrics()
    start = time.monotonic()
    out = reward(["a", "b"], log_metric=log_metric)
    assert time.monotonic() - start < 5  # bounded: 0.5 s plus scheduling, not 60 s
    assert out == [None, None] and logged["rewards/slow/errors"] == [2.0]


def test_a_hung_async_reward_is_abandoned():
    async def hangs(completions, **kw):
        await asyncio.sleep(60)
        return [1.0] * len(completions)

    reward = _guarded(hangs, "slow_async", batch_timeout=0.5)
    logged, log_metric = _metrics()
    assert asyncio.run(reward(["a"], log_metric=log_metric)) == [None]
    assert logged["rewards/slow_async/errors"] == [1.0]


def test_results_and_errors_pass_through_the_thread():
    ok = _guarded(lambda completions, **kw: [0.5] * len(completions), "ok", batch_timeout=5)
    assert ok(["a", "b"]) == [0.5, 0.5]

    def raises(completions, **kw):
        raise KeyError("no such column")

    bad = _guarded(raises, "bad", batch_timeout=5)
    assert bad(["a"]) == [None] and bad.errors() == 1


@pytest.mark.parametrize(
    "error",
    [
        SystemExit(0),  # sys.exit in a reward used to end the run with exit 0 and no final model
        KeyboardInterrupt(),  # raised by the reward's own code, not a Ctrl-C (that reaches the waiting thread)
    ],
)
def test_an_exit_raised_by_an_in_process_reward_is_an_error_of_its_batch(error):
    def exits(completions, **kw):
        raise error

    async def exits_async(completions, **kw):
        raise error

    logged, log_metric = _metrics()
    assert _guarded(exits, "exits", batch_timeout=5)(["a"], log_metric=log_metric) == [None]
    assert asyncio.run(_guarded(exits_async, "exits_async")(["a"], log_metric=log_metric)) == [None]
    assert logged["rewards/exits/errors"] == [1.0] and logged["rewards/exits_async/errors"] == [1.0]
