"""Reward plug-ins: a registry of reward *factories*, resolved by name from the config.

A factory takes the reward's own arguments (from `rewards[].args` in YAML) and returns a function with TRL's
signature, `fn(completions, **columns) -> list[float | None]`. `get_reward` wraps that function so that
- its `__name__` is the registry name, so TRL logs `rewards/<name>/mean`;
- an exception on a batch is logged once, counted as `rewards/<name>/errors`, and yields None for the batch
  (TRL then skips those samples): a buggy plug-in must not cost a multi-day run.

Names resolve in this order: the registry (built-ins, `@register_reward` in modules listed under `plugins:`, and
the `rlkd.rewards` entry-point group), then `package.module:function` (a plain reward function; `args` are bound as
keyword arguments).
"""

from __future__ import annotations

import functools
import importlib
import logging
from collections.abc import Callable, Iterable
from importlib.metadata import entry_points
from typing import Any

logger = logging.getLogger(__name__)

RewardFunc = Callable[..., list]
_REGISTRY: dict[str, Callable[..., RewardFunc]] = {}
_ENTRY_POINTS_LOADED = False


class RewardError(ValueError):
    """A reward cannot be resolved; the message says what to fix."""


def register_reward(name: str) -> Callable[[Callable[..., RewardFunc]], Callable[..., RewardFunc]]:
    """Register a reward factory under `name`; registering a name twice is an error."""

    def decorator(factory: Callable[..., RewardFunc]) -> Callable[..., RewardFunc]:
        existing = _REGISTRY.get(name)
        if existing is not None and existing is not factory:
            raise RewardError(f"reward '{name}' is already registered (by {existing.__module__}.{existing.__qualname__})")
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
    for ep in entry_points(group="rlkd.rewards"):
        if ep.name not in _REGISTRY:
            _REGISTRY[ep.name] = ep.load()


def get_reward(name: str, **args: Any) -> RewardFunc:
    """The reward called `name` (registry name or `module:function`), built with `args` and wrapped for safety."""
    _load_entry_points()
    if name in _REGISTRY:
        try:
            fn = _REGISTRY[name](**args)
        except TypeError as e:
            raise RewardError(f"reward '{name}': bad args {sorted(args)}: {e}") from None
        return _guarded(fn, name)
    if ":" in name:
        module, _, attr = name.partition(":")
        try:
            fn = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as e:
            raise RewardError(f"reward '{name}': cannot import it: {e}") from None
        if args:
            fn = functools.partial(fn, **args)
        return _guarded(fn, attr)
    known = ", ".join(registered_names())
    raise RewardError(f"unknown reward '{name}'; known rewards: {known} (or give package.module:function)")


def _guarded(fn: RewardFunc, name: str) -> RewardFunc:
    state = {"logged": False, "errors": 0}

    @functools.wraps(fn)
    def reward(completions, **kwargs):
        log_metric = kwargs.get("log_metric")
        try:
            out = fn(completions, **kwargs)
            failed = 0
        except Exception:
            if not state["logged"]:
                logger.exception("reward '%s' raised; its samples get None (skipped) and are counted", name)
                state["logged"] = True
            out, failed = [None] * len(completions), len(completions)
        state["errors"] += failed
        if log_metric is not None:
            log_metric(f"rewards/{name}/errors", float(failed))
        return out

    reward.__name__ = name
    reward.__qualname__ = name
    reward.errors = lambda: state["errors"]
    return reward
