"""Reward plug-ins: a registry of reward *factories*, resolved by name from the config.

A factory takes the reward's own arguments (from `rewards[].args` in YAML) and returns a function with TRL's
signature, `fn(completions, **columns) -> list[float | None]` (sync or async). `get_reward` wraps that function so
that
- its `__name__` is the registry name, so TRL logs `rewards/<name>/mean`;
- an exception on a batch (or an output TRL would reject: wrong length, a value that is not a number) is logged
  once, counted as `rewards/<name>/errors`, and yields None for the batch (TRL then skips those samples): a buggy
  plug-in must not cost a multi-day run;
- a reward that keeps its own counters exposes `take_metrics() -> dict[str, float]` (counts since the last call);
  they are logged as `rewards/<name>/<key>`, and an "errors" count is added to the wrapper's own;
- a reward that holds resources (worker processes) exposes `close()`; the wrapper carries it (and every other
  attribute of the function) over, so the caller can release them when a stage ends.

Names resolve in this order: the registry (built-ins, `@register_reward` in modules listed under `plugins:`, and
the `rlkd.rewards` entry-point group), then `package.module:function` (a plain reward function; `args` are bound as
keyword arguments).
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import inspect
import logging
import math
import threading
from collections.abc import Callable, Iterable
from importlib.metadata import entry_points
from numbers import Real
from typing import Any

logger = logging.getLogger(__name__)

RewardFunc = Callable[..., list]
_REGISTRY: dict[str, Callable[..., RewardFunc]] = {}
_ENTRY_POINTS_LOADED = False
ENTRY_POINT_GROUP = "rlkd.rewards"


# One batch of a reward may take this long before its samples are skipped: generous, since a judge over HTTP or a
# slow plug-in can legitimately take minutes on a large batch, but finite, so a hang cannot stall a run for days.
DEFAULT_BATCH_TIMEOUT_S = 600.0


class RewardError(ValueError):
    """A reward cannot be resolved or cannot read its input; the message says what to fix."""


def register_reward(name: str) -> Callable[[Callable[..., RewardFunc]], Callable[..., RewardFunc]]:
    """Register a reward factory under `name`; registering a name twice is an error."""
    if not isinstance(name, str) or not name or ":" in name:
        raise RewardError(f"reward name {name!r} must be a non-empty string without ':' (':' marks module:function)")

    def decorator(factory: Callable[..., RewardFunc]) -> Callable[..., RewardFunc]:
        existing = _REGISTRY.get(name)
        if existing is not None and existing is not factory:
            where = f"{existing.__module__}.{existing.__qualname__}"
            raise RewardError(f"reward '{name}' is already registered (by {where})")
        _REGISTRY[name] = factory
        return factory

    return decorator


def registered_names() -> list[str]:
    _load_entry_points()
    return sorted(_REGISTRY)


def import_plugins(modules: Iterable[str]) -> None:
    """Import the modules listed under `plugins:` so their @register_reward calls run."""
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as e:
            raise RewardError(f"plugins: cannot import '{module}': {e}") from None


def _load_entry_points() -> None:
    global _ENTRY_POINTS_LOADED
    if _ENTRY_POINTS_LOADED:
        return
    _ENTRY_POINTS_LOADED = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            factory = ep.load()
        except Exception as e:  # a broken installed plug-in: say which one, not a traceback from importlib
            raise RewardError(
                f"entry point '{ep.name}' ({ep.value}) in group {ENTRY_POINT_GROUP} failed to load: {e}"
            ) from None
        if _REGISTRY.get(ep.name, factory) is not factory:
            logger.warning("entry point '%s' (%s) ignored: the name is already registered", ep.name, ep.value)
            continue
        _REGISTRY[ep.name] = factory


def get_reward(name: str, *, batch_timeout: float | None = DEFAULT_BATCH_TIMEOUT_S, **args: Any) -> RewardFunc:
    """The reward called `name` (registry name or `module:function`), built with `args` and wrapped for safety.

    `batch_timeout` bounds one call (one batch) in seconds: a reward that hangs gives None for that batch.
    """
    _load_entry_points()
    if name in _REGISTRY:
        try:
            fn = _REGISTRY[name](**args)
        except TypeError as e:
            raise RewardError(f"reward '{name}': bad args {sorted(args)}: {e}") from None
        return _guarded(_checked(fn, name), name, batch_timeout)
    if ":" in name:
        module, _, attr = name.partition(":")
        try:
            fn = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as e:
            raise RewardError(f"reward '{name}': cannot import it: {e}") from None
        _checked(fn, name)
        if args:
            fn = functools.partial(fn, **args)
        return _guarded(fn, attr, batch_timeout)
    known = ", ".join(registered_names())
    raise RewardError(f"unknown reward '{name}'; known rewards: {known} (or give package.module:function)")


def _checked(fn: Any, name: str) -> RewardFunc:
    """Fail at config time, not at step 1, when a reward cannot take what TRL passes (every column by keyword)."""
    if not callable(fn):
        raise RewardError(f"reward '{name}' is a {type(fn).__name__}, not a function")
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # a builtin or C callable: nothing to check
        return fn
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        raise RewardError(
            f"reward '{name}' must accept **kwargs: TRL passes completions, prompts and every dataset column "
            "by keyword"
        )
    return fn


def _is_async(fn: Any) -> bool:
    while isinstance(fn, functools.partial):
        fn = fn.func
    # a callable object carries the `async` on its __call__ (as in TRL's is_async_callable)
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(type(fn).__call__)


class _Hung(Exception):
    pass


def _call_bounded(fn: Callable[..., Any], kwargs: dict[str, Any], timeout: float | None) -> Any:
    """Call `fn` in a daemon thread and stop waiting after `timeout` seconds (the thread is abandoned, and being a
    daemon it cannot keep the process alive). Python cannot kill a thread; rewards that must be killable (math-verify)
    run their work in worker processes."""
    if timeout is None:
        return fn(**kwargs)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["out"] = fn(**kwargs)
        except BaseException as e:  # handed to the caller's thread
            box["error"] = e

    thread = threading.Thread(target=target, name="rlkd-reward", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise _Hung
    if "error" in box:
        raise box["error"]
    return box["out"]


def _guarded(fn: RewardFunc, name: str, batch_timeout: float | None = DEFAULT_BATCH_TIMEOUT_S) -> RewardFunc:
    state = {"logged": False, "errors": 0}
    take_metrics = getattr(fn, "take_metrics", None)

    def log_once(message: str, *args: Any, exc_info: bool = False) -> None:
        if not state["logged"]:
            logger.error(
                "reward '%s': " + message + "; its samples get None (skipped) and are counted",
                name,
                *args,
                exc_info=exc_info,
            )
            state["logged"] = True

    def finish(out: Any, n: int, log_metric: Callable[[str, float], None] | None) -> list:
        failed = 0
        if out is None:  # the call raised
            out, failed = [None] * n, n
        elif not _valid(out, n):
            log_once(
                "returned %s for %d completions; expected a list of numbers or None of that length", _shape(out), n
            )
            out, failed = [None] * n, n
        elif any(v is not None and not math.isfinite(v) for v in out):
            log_once("returned NaN or infinity")
            bad = [v is not None and not math.isfinite(v) for v in out]
            out, failed = [None if b else v for v, b in zip(out, bad)], sum(bad)
        extra = dict(take_metrics()) if take_metrics is not None else {}
        failed += int(extra.pop("errors", 0))
        state["errors"] += failed
        if log_metric is not None:
            log_metric(f"rewards/{name}/errors", float(failed))
            for key, value in extra.items():
                log_metric(f"rewards/{name}/{key}", float(value))
        return out

    if _is_async(fn):

        async def reward(completions, **kwargs):
            try:
                out = await asyncio.wait_for(fn(completions=completions, **kwargs), batch_timeout)
            except asyncio.TimeoutError:
                log_once("took longer than %s s on a batch", batch_timeout)
                out = None
            except Exception:
                log_once("raised", exc_info=True)
                out = None
            return finish(out, len(completions), kwargs.get("log_metric"))

    else:

        def reward(completions, **kwargs):
            try:
                out = _call_bounded(fn, {"completions": completions, **kwargs}, batch_timeout)
            except _Hung:
                log_once("took longer than %s s on a batch", batch_timeout)
                out = None
            except Exception:
                log_once("raised", exc_info=True)
                out = None
            return finish(out, len(completions), kwargs.get("log_metric"))

    functools.update_wrapper(reward, fn, assigned=("__module__", "__doc__"))
    reward.__name__ = name
    reward.__qualname__ = name
    reward.errors = lambda: state["errors"]
    return reward


def _valid(out: Any, n: int) -> bool:
    """What TRL can turn into a reward column: one number (or None) per completion."""
    return isinstance(out, (list, tuple)) and len(out) == n and all(v is None or isinstance(v, Real) for v in out)


def _shape(out: Any) -> str:
    return f"a list of {len(out)}" if isinstance(out, (list, tuple)) else type(out).__name__
