"""Reward plug-ins: registry, module:function, plugins:, entry points, and the error guard."""

import asyncio
import logging
import textwrap

import pytest
from trl.trainer.utils import is_async_callable

from rewards import RewardError, get_reward, import_plugins, register_reward, registered_names
from rewards import registry as reg


@pytest.fixture(autouse=True)
def clean_registry(monkeypatch):
    """Each test sees the built-ins only, and leaves nothing behind."""
    monkeypatch.setattr(reg, "_REGISTRY", dict(reg._REGISTRY))
    monkeypatch.setattr(reg, "_ENTRY_POINTS_LOADED", reg._ENTRY_POINTS_LOADED)


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    """Write a module into a temp dir on sys.path, the way a user's package would be importable."""

    def write(name: str, source: str) -> str:
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        monkeypatch.syspath_prepend(str(tmp_path))
        return name

    return write


class Metrics:
    def __init__(self):
        self.logged = []

    def __call__(self, name, value):
        self.logged.append((name, value))


def test_register_and_get_by_name():
    @register_reward("length")
    def make_length(scale: float = 1.0):
        def length(completions, **kwargs):
            return [scale * len(c) for c in completions]

        return length

    # in process: a factory local to a test cannot be pickled into a worker (test_reward_isolation.py covers that)
    fn = get_reward("length", isolate=False, scale=0.5)
    assert fn(["ab", "abcd"]) == [1.0, 2.0]
    assert fn.__name__ == "length"  # TRL logs rewards/length/mean
    assert "length" in registered_names()


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: register_reward("accuracy")(lambda: None), "already registered"),  # duplicate name
        (lambda: register_reward("pkg:fn"), "without ':'"),  # would be read as module:function
        # lists the known names (plug-ins registered by other tests in this process may appear among them)
        (lambda: get_reward("acuracy"), r"unknown reward 'acuracy'; known rewards: accuracy, (\w+, )*format, judge"),
        (lambda: get_reward("format", allow_empty=True), r"bad args \['allow_empty'\]"),  # a factory arg typo
        (lambda: get_reward("accuracy", timeout=-1), "timeout must be a positive number"),
        (lambda: get_reward("no_such_module_xyz:fn"), "cannot import it"),
        (lambda: get_reward("rewards.text:no_such_fn"), "cannot import it"),
        (lambda: get_reward("rewards.text:THINK_OPEN"), "is a str, not a function"),
        (lambda: get_reward("rewards.text:completion_text"), r"must accept \*\*kwargs"),  # TRL passes columns
        (lambda: import_plugins(["no_such_plugin_xyz"]), "plugins: cannot import 'no_such_plugin_xyz'"),
    ],
)
def test_resolution_errors_say_what_to_fix(call, message):
    with pytest.raises(RewardError, match=message):
        call()


def test_module_function_with_bound_args(user_module):
    user_module(
        "my_rewards_a",
        """
        def brevity(completions, limit=3, **kwargs):
            return [1.0 if len(c) <= limit else 0.0 for c in completions]
        """,
    )
    fn = get_reward("my_rewards_a:brevity", limit=2)
    assert fn.__name__ == "brevity"
    assert fn(completions=["ab", "abc"], prompts=["p", "p"]) == [1.0, 0.0]  # TRL calls by keyword


def test_plugins_register_on_import(user_module):
    user_module(
        "my_rewards_b",
        """
        from rewards import register_reward

        @register_reward("always_one")
        def make(**args):
            return lambda completions, **kw: [1.0] * len(completions)
        """,
    )
    import_plugins(["my_rewards_b"])
    assert get_reward("always_one")(["x"]) == [1.0]


def test_entry_points_are_discovered(tmp_path, monkeypatch, user_module):
    user_module(
        "my_rewards_c",
        """
        def make_shouty(**args):
            return lambda completions, **kw: [float(c.isupper()) for c in completions]
        """,
    )
    # An installed distribution advertising the factory in the rlkd.rewards group.
    dist = tmp_path / "my_rewards_c-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: my-rewards-c\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[rlkd.rewards]\nshouty = my_rewards_c:make_shouty\n")
    monkeypatch.setattr(reg, "_ENTRY_POINTS_LOADED", False)
    assert get_reward("shouty")(["AB", "ab"]) == [1.0, 0.0]


def test_a_raising_reward_gives_none_is_counted_and_logged_once(user_module, caplog):
    user_module(
        "my_rewards_d",
        """
        def flaky(completions, **kwargs):
            raise KeyError("solution")
        """,
    )
    fn = get_reward("my_rewards_d:flaky", isolate=False)  # the in-process guard; isolated: test_reward_isolation.py
    metrics = Metrics()
    with caplog.at_level(logging.ERROR, logger="rewards.registry"):
        assert fn(completions=["a", "b"], log_metric=metrics) == [None, None]
        assert fn(completions=["c"], log_metric=metrics) == [None]
    assert metrics.logged == [("rewards/flaky/errors", 2.0), ("rewards/flaky/errors", 1.0)]
    assert fn.errors() == 3
    assert len([r for r in caplog.records if "raised" in r.getMessage()]) == 1  # once, with the traceback


@pytest.mark.parametrize(
    "output",
    [
        [1.0],  # one reward for two completions: TRL would raise deep inside its step
        "1.0",  # not a list
        [1.0, "yes"],  # not a number
    ],
)
def test_an_output_trl_would_reject_is_an_error_not_a_crash(output):
    fn = reg._guarded(lambda completions, **kw: output, "bad")
    metrics = Metrics()
    assert fn(completions=["a", "b"], log_metric=metrics) == [None, None]
    assert metrics.logged == [("rewards/bad/errors", 2.0)]


def test_a_good_batch_logs_zero_errors_and_the_rewards_own_counters():
    def reward(completions, **kwargs):
        return [None, 1.0]  # None: this reward could not judge the first sample

    reward.take_metrics = lambda: {"errors": 1.0, "timeouts": 2.0}
    fn = reg._guarded(reward, "counted")
    metrics = Metrics()
    assert fn(completions=["a", "b"], log_metric=metrics) == [None, 1.0]
    assert metrics.logged == [("rewards/counted/errors", 1.0), ("rewards/counted/timeouts", 2.0)]


def test_async_rewards_stay_async_and_are_guarded():
    async def ok(completions, **kwargs):
        return [1.0] * len(completions)

    async def broken(completions, **kwargs):
        raise RuntimeError("judge down")

    good, bad = reg._guarded(ok, "good"), reg._guarded(broken, "bad")
    assert is_async_callable(good) and is_async_callable(bad)  # TRL runs them on its event loop
    assert asyncio.run(good(completions=["a"])) == [1.0]
    assert asyncio.run(bad(completions=["a", "b"])) == [None, None] and bad.errors() == 2
