"""Reward plug-ins: a registry of reward *factories*, resolved by name from the config.

A factory takes the reward's own arguments (from `rewards[].args` in YAML) and returns a function with TRL's
signature, `fn(completions, **columns) -> list[float | None]` (sync or async). `get_reward` wraps that function so
that
- its `__name__` is the registry name, so TRL logs `rewards/<name>/mean`;
- an exception on a batch (or an output TRL would reject: wrong length, a value that is not a number), a batch over
  its time limit, or a worker process that dies is logged once per kind, counted (`rewards/<name>/errors` per
  sample, `…/timeouts` and `…/crashes` per batch), and yields None for the batch (TRL then skips those samples): a
  buggy plug-in must not cost a multi-day run;
- a reward that keeps its own counters exposes `take_metrics() -> dict[str, float]` (counts since the last call);
  they are logged as `rewards/<name>/<key>`, and an "errors" (or "timeouts") count is added to the wrapper's own;
- a reward that holds resources (worker processes) exposes `close()`; the wrapper carries it (and every other
  attribute of the function) over, so the caller can release them when a stage ends.

Names resolve in this order: the registry (built-ins, `@register_reward` in modules listed under `plugins:`, and
the `rlkd.rewards` entry-point group), then `package.module:function` (a plain reward function; `args` are bound as
keyword arguments).

Plug-ins run isolated by default: everything but the rewards shipped in this package is built and called in a
worker process of its own (rewards.isolation), so a plug-in that kills its process, exits, hangs holding the GIL or
blocks its event loop costs one batch, not the run. `isolate=False` keeps a reward in the caller's process.
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
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from numbers import Real
from typing import Any, Literal

from rewards.errors import RemoteError, RewardCrash, RewardError, RewardTimeout, first_line

logger = logging.getLogger(__name__)

RewardFunc = Callable[..., list]
_REGISTRY: dict[str, Callable[..., RewardFunc]] = {}
_ENTRY_POINTS_LOADED = False
ENTRY_POINT_GROUP = "rlkd.rewards"
_BUILTINS: set[str] = set()  # names rewards.builtin registers: the rewards shipped here, run in process


# One batch of a reward may take this long before its samples are skipped: generous, since a judge over HTTP or a
# slow plug-in can legitimately take minutes on a large batch, but finite, so a hang cannot stall a run for days.
DEFAULT_BATCH_TIMEOUT_S = 600.0

__all__ = ["RewardError", "Target", "get_reward", "import_plugins", "register_reward", "registered_names"]


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


def register_builtin(name: str) -> Callable[[Callable[..., RewardFunc]], Callable[..., RewardFunc]]:
    """register_reward for the rewards shipped in this package (rewards.builtin): they run in process by default.
    A plug-in cannot take these names, since a name registers once."""
    _BUILTINS.add(name)
    return register_reward(name)


def registered_names() -> list[str]:
    _load_entry_points()
    return sorted(_REGISTRY)


def _import(module: str, failure: str):
    """Import a user's module; whatever goes wrong in it (a syntax error, an exception, even sys.exit at import) is a
    one-line RewardError starting with `failure`."""
    try:
        return importlib.import_module(module)
    except (Exception, SystemExit) as e:
        raise RewardError(f"{failure}: {type(e).__name__}: {first_line(e)}") from None


def import_plugins(modules: Iterable[str]) -> None:
    """Import the modules listed under `plugins:` so their @register_reward calls run."""
    for module in modules:
        if not isinstance(module, str) or not module.strip():
            raise RewardError(f"plugins: {module!r} is not a module name")
        _import(module, f"plugins: cannot import '{module}'")


def _load_entry_points() -> None:
    global _ENTRY_POINTS_LOADED
    if _ENTRY_POINTS_LOADED:
        return
    _ENTRY_POINTS_LOADED = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            factory = ep.load()
        except (Exception, SystemExit) as e:  # a broken installed plug-in: say which one, not a traceback
            raise RewardError(
                f"entry point '{ep.name}' ({ep.value}) in group {ENTRY_POINT_GROUP} failed to load: {first_line(e)}"
            ) from None
        if _REGISTRY.get(ep.name, factory) is not factory:
            logger.warning("entry point '%s' (%s) ignored: the name is already registered", ep.name, ep.value)
            continue
        _REGISTRY[ep.name] = factory


@dataclass(frozen=True)
class Target:
    """What a reward name resolves to, before it is built: a registry `factory` called with `args`, or a plain
    `function` with `args` bound. Picklable by reference when `obj` is a module-level function, which is how an
    isolated reward reaches its worker process. `label` is the metric name (`rewards/<label>/...`)."""

    name: str
    label: str
    kind: Literal["factory", "function"]
    obj: Any
    args: dict[str, Any] = field(default_factory=dict)

    @property
    def builtin(self) -> bool:
        """Shipped in this package (accuracy, format, judge): written not to need a process of its own."""
        return self.kind == "factory" and self.name in _BUILTINS

    def build(self) -> RewardFunc:
        """The reward function itself (unguarded): the factory's result, or the function with its args bound."""
        if self.kind == "factory":
            try:
                fn = self.obj(**self.args)
            except TypeError as e:
                raise RewardError(f"reward '{self.name}': bad args {sorted(self.args)}: {e}") from None
            return _checked(fn, self.name)
        return functools.partial(self.obj, **self.args) if self.args else self.obj


def resolve(name: str, args: dict[str, Any] | None = None) -> Target:
    """Look `name` up (registry, entry points, `module:function`) without calling any factory."""
    args = dict(args or {})
    if not isinstance(name, str) or not name.strip():
        raise RewardError(f"reward name {name!r} must be a non-empty string")
    _load_entry_points()
    if name in _REGISTRY:
        return Target(name, name, "factory", _REGISTRY[name], args)
    if ":" in name:
        module, _, attr = name.partition(":")
        if not module.strip() or not attr.strip():
            raise RewardError(f"reward '{name}': give both parts of package.module:function")
        try:
            fn = getattr(_import(module, f"reward '{name}': cannot import it"), attr)
        except AttributeError as e:
            raise RewardError(f"reward '{name}': cannot import it: {e}") from None
        return Target(name, attr, "function", _checked(fn, name), args)
    known = ", ".join(registered_names())
    raise RewardError(f"unknown reward '{name}'; known rewards: {known} (or give package.module:function)")


def get_reward(
    name: str,
    *,
    batch_timeout: float | None = DEFAULT_BATCH_TIMEOUT_S,
    isolate: bool | None = None,
    memory_limit_mb: float | None = None,
    **args: Any,
) -> RewardFunc:
    """The reward called `name` (registry name or `module:function`), built with `args` and wrapped for safety.

    `batch_timeout` bounds one call (one batch) in seconds: a reward that hangs gives None for that batch.
    `isolate`: run the reward in a worker process of its own (None: plug-ins yes, the built-ins no); the
    worker starts here, so a plug-in that cannot be sent to it, imported or built there fails now, not at step 1.
    `memory_limit_mb` caps an isolated worker's address space.
    """
    target = resolve(name, args)
    isolate = not target.builtin if isolate is None else isolate
    if not isolate:
        if memory_limit_mb is not None:
            raise RewardError(f"reward '{name}': memory_limit_mb needs isolate: true (a cap on its worker process)")
        return _guarded(target.build(), target.label, batch_timeout)
    from rewards.isolation.isolated import isolated_reward

    return _guarded(isolated_reward(target, batch_timeout, memory_limit_mb), target.label, None)


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


class _Exited(Exception):
    """SystemExit or KeyboardInterrupt raised by a reward's own code: an error of that batch, not the end of the run
    (a real Ctrl-C reaches the thread that waits, never the reward's thread)."""

    def __init__(self, error: BaseException):
        super().__init__(f"{type(error).__name__}({first_line(error)})")
        self.__cause__ = error


def _call_bounded(fn: Callable[..., Any], kwargs: dict[str, Any], timeout: float | None) -> Any:
    """Call `fn` in a daemon thread and stop waiting after `timeout` seconds (the thread is abandoned, and being a
    daemon it cannot keep the process alive). Python cannot kill a thread, nor wake one that a C call keeps holding
    the GIL; rewards that must be killable run in worker processes (isolation, math-verify's workers)."""
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
        raise RewardTimeout(timeout)
    error = box.get("error")
    if error is not None:
        raise error if isinstance(error, Exception) else _Exited(error)
    return box["out"]


async def _contained(coro: Any) -> Any:
    """Await a reward's coroutine inside the guard's task: asyncio lets SystemExit and KeyboardInterrupt escape a
    task and stop its loop (TRL's loop thread would die and the step wait forever), so they become errors here."""
    try:
        return await coro
    except (SystemExit, KeyboardInterrupt) as e:
        raise _Exited(e) from None


def _guarded(fn: RewardFunc, name: str, batch_timeout: float | None = DEFAULT_BATCH_TIMEOUT_S) -> RewardFunc:
    state = {"errors": 0}
    logged: set[str] = set()
    take_metrics = getattr(fn, "take_metrics", None)
    # An isolated reward logs its timeouts and crashes every batch, zeros included, so they chart as rates; an
    # in-process one logs a timeout when it happens (it cannot crash without taking the run with it).
    always = ("timeouts", "crashes") if getattr(fn, "isolated", False) else ()

    def log_once(kind: str, message: str, *args: Any, exc_info: Any = False) -> None:
        if kind not in logged:
            logger.error(
                "reward '%s': " + message + "; its samples get None (skipped) and are counted",
                name,
                *args,
                exc_info=exc_info,
            )
            logged.add(kind)

    def fault(error: Exception, counts: dict[str, float]) -> None:
        """Log (once per kind) and count a batch that could not be scored at all."""
        if isinstance(error, RewardTimeout):
            counts["timeouts"] = counts.get("timeouts", 0) + 1
            log_once("timeout", "%s", error)
        elif isinstance(error, RewardCrash):
            counts["crashes"] = counts.get("crashes", 0) + 1
            log_once("crash", "its worker process %s on a batch (a fresh worker takes the next one)", error)
        elif isinstance(error, RemoteError):
            log_once("raised", "raised in its worker process:\n%s", error)
        else:
            log_once("raised", "raised", exc_info=error)

    def finish(out: Any, error: Exception | None, n: int, log_metric: Callable[[str, float], None] | None) -> list:
        counts: dict[str, float] = dict.fromkeys(always, 0)
        failed = 0
        if error is not None:
            fault(error, counts)
            out, failed = [None] * n, n
        elif not _valid(out, n):
            log_once(
                "shape",
                "returned %s for %d completions; expected a list of numbers or None of that length",
                _shape(out),
                n,
            )
            out, failed = [None] * n, n
        elif any(v is not None and not math.isfinite(v) for v in out):
            log_once("nan", "returned NaN or infinity")
            bad = [v is not None and not math.isfinite(v) for v in out]
            out, failed = [None if b else v for v, b in zip(out, bad)], sum(bad)
        extra = dict(take_metrics()) if take_metrics is not None else {}
        failed += int(extra.pop("errors", 0))
        for key, value in extra.items():
            counts[key] = counts.get(key, 0) + value
        state["errors"] += failed
        if log_metric is not None:
            log_metric(f"rewards/{name}/errors", float(failed))
            for key, value in counts.items():
                log_metric(f"rewards/{name}/{key}", float(value))
        return out

    if _is_async(fn):

        async def reward(completions, **kwargs):
            out, error = None, None
            try:
                out = await asyncio.wait_for(_contained(fn(completions=completions, **kwargs)), batch_timeout)
            except asyncio.TimeoutError:
                error = RewardTimeout(batch_timeout)
            except Exception as e:
                error = e
            return finish(out, error, len(completions), kwargs.get("log_metric"))

    else:

        def reward(completions, **kwargs):
            out, error = None, None
            try:
                out = _call_bounded(fn, {"completions": completions, **kwargs}, batch_timeout)
            except Exception as e:
                error = e
            return finish(out, error, len(completions), kwargs.get("log_metric"))

    functools.update_wrapper(reward, fn, assigned=("__module__", "__doc__"))
    reward.__name__ = name
    reward.__qualname__ = name
    reward.errors = lambda: state["errors"]
    return reward


def _valid(out: Any, n: int) -> bool:
    """What TRL can turn into a reward column: one number (or None) per completion."""
    return isinstance(out, (list, tuple)) and len(out) == n and all(v is None or isinstance(v, Real) for v in out)


def _shape(out: Any) -> str:
    if isinstance(out, (list, tuple)):
        return f"a list of {len(out)}"
    return getattr(out, "type_name", None) or type(out).__name__  # an isolated reward's output stands in by name
