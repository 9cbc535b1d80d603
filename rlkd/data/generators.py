"""Task generators: datasets built locally (`data.generator: NAME`), looked up by name the way rewards are.

A generator builds train and eval rows from its own arguments (`data.generator_args`), so tests and the demo
download nothing. The core never names a task: the demo's arithmetic task registers itself through the
`rlkd.generators` entry-point group in pyproject.toml, and a user's task can do the same, or be given as
`package.module:object`.

A generator may also be a *teacher* (`sft_problems` and `respond`): `rlkd sft` then distils its responses, one
per reasoning mode, instead of reading a completion column.

    @register_generator("my-task")
    class MyTask:
        def splits(self, num_train=100, seed=0) -> dict[str, list[dict]]: ...
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any, Protocol, runtime_checkable

from rlkd.errors import ConfigError, first_line

ENTRY_POINT_GROUP = "rlkd.generators"


class TaskGenerator(Protocol):
    def splits(self, **args: Any) -> dict[str, list[dict[str, Any]]]:
        """{"train": rows, "eval": rows} (eval may be absent); rows hold prompt and solution columns."""
        ...


@runtime_checkable
class TeacherTask(Protocol):
    def sft_problems(self, args: dict[str, Any], eval_rows: list[dict[str, Any]], num: int | None) -> list[dict]:
        """`num` problems for SFT from the task's distribution (None: the task's default), none of `eval_rows`."""
        ...

    def respond(self, row: dict[str, Any], thinking: bool) -> str:
        """The teacher's response to a row, with reasoning (thinking on) or without."""
        ...


_REGISTRY: dict[str, TaskGenerator] = {}


def register_generator(name: str) -> Callable[[Any], Any]:
    """Register a generator (a class, instantiated with no arguments, or an instance) under `name`."""

    def decorator(obj: Any) -> Any:
        _REGISTRY[name] = obj() if isinstance(obj, type) else obj
        return obj

    return decorator


def _entry_point(name: str) -> TaskGenerator | None:
    for ep in entry_points(group=ENTRY_POINT_GROUP, name=name):
        try:
            obj = ep.load()
        except (Exception, SystemExit) as e:  # a broken installed plug-in: say which one, not a traceback
            raise ConfigError(f"data.generator '{name}' ({ep.value}) failed to load: {first_line(e)}") from None
        return obj() if isinstance(obj, type) else obj
    return None


def get_generator(name: str) -> TaskGenerator:
    """The generator called `name`: registered, an entry point, or `package.module:object`."""
    if name in _REGISTRY:
        return _REGISTRY[name]
    found = _entry_point(name)
    if found is None and ":" in name:
        module, _, attr = name.partition(":")
        if not module.strip() or not attr.strip():
            raise ConfigError(f"data.generator '{name}': give both parts of package.module:object")
        try:
            obj = getattr(importlib.import_module(module), attr)
        except (Exception, SystemExit) as e:  # a syntax error or an exception in the user's module: one line
            raise ConfigError(
                f"data.generator '{name}': cannot import it: {type(e).__name__}: {first_line(e)}"
            ) from None
        found = obj() if isinstance(obj, type) else obj
    if found is None:
        known = sorted({*_REGISTRY, *(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))})
        raise ConfigError(f"unknown data.generator '{name}'; known generators: {', '.join(known) or 'none'}")
    if not callable(getattr(found, "splits", None)):
        raise ConfigError(f"data.generator '{name}' has no splits(**args) method")
    _REGISTRY[name] = found
    return found
