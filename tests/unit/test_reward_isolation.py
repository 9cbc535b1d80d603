"""Isolated plug-in rewards: whatever a plug-in does to its process — kill it, exit it, interrupt it, close its
pipes, hang it holding the GIL, block its event loop, run it out of memory — costs the batch (None, counted, logged
once) and never the trainer; the next batch gets a fresh worker. Each reward here is a real plug-in module run in a
real worker process, called the way TRL calls rewards (every column by keyword)."""

import asyncio
import logging
import os
import sys
import textwrap
import time
import types

import pytest

from rewards import RewardError, get_reward
from rewards import registry as reg
from rlkd.commands.validate import required_columns

HOSTILE = """
import asyncio, os, re, signal, sys, time

def exits(completions, **kw):
    os._exit(1)

def segfaults(completions, **kw):
    os.kill(os.getpid(), signal.SIGSEGV)

def sys_exits(completions, **kw):
    sys.exit(0)

def interrupts(completions, **kw):
    raise KeyboardInterrupt

def closes_stderr(completions, **kw):
    if not sys.stderr.closed:  # once: the same worker scores the next batch
        sys.stderr.close()
        os.close(2)
    return [1.0] * len(completions)

def closes_every_fd(completions, **kw):
    os.closerange(0, 1024)
    return [1.0] * len(completions)

def backtracks(completions, **kw):
    re.match(r"(a+)+$", "a" * 64 + "b")  # catastrophic backtracking: one C call that holds the GIL
    return [1.0] * len(completions)

def big_power(completions, **kw):
    return [float(7 ** (10 ** 9) % 2)] * len(completions)  # one big-integer power, never releasing the GIL

async def blocks_its_loop(completions, **kw):
    time.sleep(3600)
    return [1.0] * len(completions)

async def never_resolves(completions, **kw):
    await asyncio.Event().wait()

def allocates(completions, size_mb=2048, **kw):
    blob = bytearray(size_mb * 2**20)
    return [float(len(blob) > 0)] * len(completions)

def raises(completions, **kw):
    raise ValueError("no such column")

def wrong_type(completions, **kw):
    return {"score": 1.0}

def nan(completions, **kw):
    return [float("nan")] + [1.0] * (len(completions) - 1)

def pid(completions, **kw):
    return [float(os.getpid())] * len(completions)

async def async_length(completions, **kw):
    await asyncio.sleep(0)
    return [float(len(c)) for c in completions]

def crash_once(completions, flag, **kw):
    if not os.path.exists(flag):
        open(flag, "w").close()
        os._exit(3)
    return [1.0] * len(completions)

_calls = []

def counts(completions, **kw):
    _calls.append(len(completions))
    return [float(len(_calls))] * len(completions)

def talks(completions, log_metric, log_extra, trainer_state, **kw):
    log_metric("talks/seen", float(len(completions)))
    log_extra("talks_note", ["n%d" % i for i in range(len(completions))])
    return [float(trainer_state.global_step)] * len(completions)

def needs_difficulty(completions, difficulty, **kw):
    return [float(d) for d in difficulty]

def make_counter(start=0):
    state = {"n": start}
    def counter(completions, **kw):
        state["n"] += 1
        return [float(state["n"])] * len(completions)
    counter.take_metrics = lambda: {"batches": float(state["n"])}
    return counter

def make_broken(**kw):
    raise RuntimeError("cannot reach the reward model")
"""


@pytest.fixture(scope="module")
def plugin(tmp_path_factory):
    """The hostile plug-in module, importable here and (through the trainer's sys.path) in the workers."""
    folder = tmp_path_factory.mktemp("plugins")
    (folder / "hostile_rewards.py").write_text(textwrap.dedent(HOSTILE))
    sys.path.insert(0, str(folder))
    yield folder
    sys.path.remove(str(folder))
    sys.modules.pop("hostile_rewards", None)


class Metrics:
    def __init__(self):
        self.logged: dict[str, list[float]] = {}
        self.extra: dict[str, list] = {}

    def log_metric(self, name, value):
        self.logged.setdefault(name, []).append(value)

    def log_extra(self, column, values):
        self.extra.setdefault(column, []).extend(values)


def _call(fn, n=2, metrics=None, **columns):
    """Call a reward the way TRL does (keywords only), running it on an event loop when it is async."""
    metrics = metrics or Metrics()
    out = fn(
        completions=["ab", "c", "def", "g"][:n],
        prompts=["p"] * n,
        log_metric=metrics.log_metric,
        log_extra=metrics.log_extra,
        **columns,
    )
    return asyncio.run(out) if asyncio.iscoroutine(out) else out


def _reward(name, **kwargs):
    fn = get_reward(f"hostile_rewards:{name}", **kwargs)
    assert fn.isolated  # plug-ins run isolated by default
    return fn


@pytest.mark.parametrize(
    "name, how",
    [
        ("exits", "exited with status 1"),  # os._exit(1) used to end the run with exit 1
        ("segfaults", "was killed by SIGSEGV"),  # used to kill the run (exit -11)
        ("sys_exits", "exited with status 0"),  # used to end the run with exit 0 and no final model
        # a KeyboardInterrupt raised by the reward used to kill the run; Python ends on it by re-raising SIGINT
        ("interrupts", "was killed by SIGINT"),
        (
            "closes_every_fd",
            "exited with status 1",
        ),  # the worker loses its pipes (and fails to reply), not the trainer
    ],
)
def test_a_reward_that_ends_its_process_costs_one_batch(plugin, name, how, caplog):
    fn = _reward(name)
    metrics = Metrics()
    with caplog.at_level(logging.ERROR, logger="rewards.registry"):
        assert _call(fn, metrics=metrics) == [None, None]
        assert _call(fn, metrics=metrics) == [None, None]  # and the next batch, on a fresh worker
    # counted: every sample skipped, one crash per batch, no timeout
    assert metrics.logged[f"rewards/{name}/errors"] == [2.0, 2.0]
    assert metrics.logged[f"rewards/{name}/crashes"] == [1.0, 1.0]
    assert metrics.logged[f"rewards/{name}/timeouts"] == [0.0, 0.0]
    crashes = [r.getMessage() for r in caplog.records if "worker process" in r.getMessage()]
    assert len(crashes) == 1 and how in crashes[0]  # logged once, saying how it died
    fn.close()


@pytest.mark.parametrize(
    "name",
    [
        "backtracks",  # catastrophic regex backtracking: batch_timeout's thread could never stop it
        "big_power",  # a big-integer power: one C call
        "blocks_its_loop",  # an async reward that sleeps on its loop: the loop is the worker's own
        "never_resolves",  # an awaitable that never finishes
    ],
)
def test_a_hang_is_cut_at_the_deadline(plugin, name):
    fn = _reward(name, batch_timeout=1.0)
    metrics = Metrics()
    start = time.monotonic()
    assert _call(fn, metrics=metrics) == [None, None]
    assert time.monotonic() - start < 1.0 + 5.0  # the deadline, plus a kill and some scheduling on a busy box
    assert metrics.logged[f"rewards/{name}/timeouts"] == [1.0]
    assert metrics.logged[f"rewards/{name}/crashes"] == [0.0]
    fn.close()


def test_closing_stderr_in_a_reward_leaves_the_trainers_open(plugin):
    fn = _reward("closes_stderr")
    assert _call(fn) == [1.0, 1.0]  # the worker's stderr went; the reward's values came back anyway
    os.fstat(2)  # ours is still open (in process, tqdm's next write would have raised)
    print("still writable", file=sys.stderr)
    fn.close()


def test_a_worker_that_dies_is_replaced_and_the_next_batch_scores(plugin, tmp_path):
    fn = _reward("crash_once", flag=str(tmp_path / "crashed"))
    metrics = Metrics()
    assert _call(fn, metrics=metrics) == [None, None]
    assert _call(fn, metrics=metrics) == [1.0, 1.0]  # a fresh worker, the same reward
    assert metrics.logged["rewards/crash_once/crashes"] == [1.0, 0.0]
    fn.close()


def test_the_worker_lives_across_batches_and_keeps_the_rewards_state(plugin):
    fn = get_reward("hostile_rewards:counts")
    pid = fn.pool.pids
    assert [_call(fn)[0] for _ in range(3)] == [1.0, 2.0, 3.0]  # one process, not one per batch
    assert fn.pool.pids == pid
    fn.close()
    assert fn.pool.pids == []


def test_memory_over_the_cap_is_an_error_of_the_batch(plugin):
    fn = _reward("allocates", memory_limit_mb=512)
    metrics = Metrics()
    assert _call(fn, metrics=metrics) == [None, None]  # 2 GiB asked, 512 MiB allowed: MemoryError in the worker
    assert metrics.logged["rewards/allocates/errors"] == [2.0]
    assert _call(fn, metrics=metrics, size_mb=1) == [1.0, 1.0]  # the worker survived its MemoryError
    fn.close()


@pytest.mark.parametrize(
    "name, expected, errors, message",
    [
        ("raises", [None, None], 2.0, "raised in its worker process"),  # with the worker's traceback
        ("wrong_type", [None, None], 2.0, "returned dict for 2 completions"),  # as in process: TRL would reject it
        ("nan", [None, 1.0], 1.0, "NaN or infinity"),
    ],
)
def test_bad_outputs_are_checked_as_in_process(plugin, caplog, name, expected, errors, message):
    fn = _reward(name)
    metrics = Metrics()
    with caplog.at_level(logging.ERROR, logger="rewards.registry"):
        assert _call(fn, metrics=metrics) == expected
    assert metrics.logged[f"rewards/{name}/errors"] == [errors]
    assert any(message in r.getMessage() for r in caplog.records)
    fn.close()


def test_async_rewards_stay_async_and_run_on_the_workers_loop(plugin):
    fn = _reward("async_length")
    assert asyncio.iscoroutinefunction(fn)  # TRL gathers it with the other async rewards
    assert _call(fn, n=3) == [2.0, 1.0, 3.0]
    fn.close()


def test_what_trl_passes_reaches_the_worker_and_what_it_logs_comes_back(plugin):
    fn = _reward("talks")
    metrics = Metrics()
    state = types.SimpleNamespace(global_step=7, epoch=0.5, log_history=[{"loss": 1.0}])
    assert _call(fn, metrics=metrics, trainer_state=state) == [7.0, 7.0]  # a snapshot of the trainer state
    assert metrics.logged["talks/seen"] == [2.0]  # its own log_metric calls, replayed here
    assert metrics.extra["talks_note"] == ["n0", "n1"]  # and its log_extra columns
    fn.close()


def test_a_factorys_counters_and_args_work_isolated(plugin):
    reg.register_reward("hostile_counter")(sys.modules["hostile_rewards"].make_counter)
    try:
        fn = get_reward("hostile_counter", start=10)  # a registered plug-in factory, built in the worker
        metrics = Metrics()
        assert _call(fn, metrics=metrics) == [11.0, 11.0]
        assert metrics.logged["rewards/hostile_counter/batches"] == [11.0]  # take_metrics() crosses the pipe
        fn.close()
    finally:
        reg._REGISTRY.pop("hostile_counter")


def test_validate_sees_the_columns_an_isolated_reward_requires(plugin):
    fn = _reward("needs_difficulty")
    assert required_columns(fn) == ["difficulty"]  # rlkd validate checks the dataset has it
    assert _call(fn, difficulty=[1, 2]) == [1.0, 2.0]
    fn.close()


def test_in_process_opt_out_runs_in_the_trainers_process(plugin):
    isolated, in_process = _reward("pid"), get_reward("hostile_rewards:pid", isolate=False)
    assert not getattr(in_process, "isolated", False)
    assert _call(in_process) == [float(os.getpid())] * 2  # shares the trainer's process (a GPU model, state)
    assert _call(isolated)[0] not in (None, float(os.getpid()))
    isolated.close()


def test_builtin_rewards_stay_in_process():
    assert not getattr(get_reward("format"), "isolated", False)  # written not to need a process of their own


def _local_factory():
    def make(**args):
        return lambda completions, **kw: [1.0] * len(completions)

    return make


@pytest.mark.parametrize(
    "setup, message",
    [
        # a factory defined inside a function cannot be pickled by reference
        (lambda: reg.register_reward("hostile_local")(_local_factory()), "cannot be sent to a worker process"),
        # a module that exists only in this process (as __main__ is for a training script) cannot be imported there
        (lambda: _module_only_here(), "cannot be loaded in its worker process"),
        # the factory itself fails: at build time, in the worker
        (lambda: reg.register_reward("hostile_local")(sys.modules["hostile_rewards"].make_broken), "factory raised"),
    ],
)
def test_a_plugin_the_worker_cannot_build_is_one_line_at_start(plugin, setup, message):
    setup()
    name = "hostile_local" if "hostile_local" in reg._REGISTRY else "only_here:reward"
    try:
        with pytest.raises(RewardError) as e:
            get_reward(name)
        assert message in str(e.value) and "\n" not in str(e.value)
    finally:
        reg._REGISTRY.pop("hostile_local", None)
        sys.modules.pop("only_here", None)


def _module_only_here():
    module = types.ModuleType("only_here")
    exec("def reward(completions, **kw):\n    return [1.0] * len(completions)\n", module.__dict__)
    sys.modules["only_here"] = module
