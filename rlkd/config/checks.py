"""Value checks for every config field: ranges and finiteness, with one-line messages that say what to set.

The sections' `__post_init__` (rlkd.config.schema) and the TRL bridge (rlkd.config.trl_bridge) call these, so a NaN
learning rate or a zero batch size is a ConfigError before anything loads, not a traceback at step 1 or a silent
NaN run. Types are already checked by rlkd.config.strict; these check the values.

    in_range("generation.min_p", cfg.min_p, 0, 1)            # [0, 1]; None passes (unset)
    in_range("grpo.learning_rate", lr, 0, 1, open_low=True)  # (0, 1]
"""

from __future__ import annotations

import math
from typing import Any

from rlkd.errors import ConfigError

SEED_LIMIT = 2**32  # numpy's seeds (transformers' set_seed seeds numpy too) must be below it


def _num(x: float) -> str:
    return str(x) if isinstance(x, int) else f"{x:g}"


def _interval(low: float | None, high: float | None, open_low: bool, open_high: bool) -> str:
    if low is not None and high is not None:
        return f"in {'(' if open_low else '['}{_num(low)}, {_num(high)}{')' if open_high else ']'}"
    if low is not None:
        return f"{'>' if open_low else '>='} {_num(low)}"
    if high is not None:
        return f"{'<' if open_high else '<='} {_num(high)}"
    return "a finite number"


def in_range(
    where: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    *,
    open_low: bool = False,
    open_high: bool = False,
    hint: str = "",
    kind: str = "",
) -> None:
    """`value` is None (unset) or a finite number within the bounds; otherwise a ConfigError naming `where` (NaN and
    infinity are outside every interval). `kind` names what the value is ("a pass rate")."""
    if value is None or isinstance(value, bool):
        return
    if not isinstance(value, (int, float)):
        raise ConfigError(f"{where} must be a number; got {type(value).__name__} {value!r}")
    bad = isinstance(value, float) and not math.isfinite(value)
    bad = bad or (low is not None and (value < low or (open_low and value == low)))
    bad = bad or (high is not None and (value > high or (open_high and value == high)))
    if bad:
        what = _interval(low, high, open_low, open_high)
        raise ConfigError(f"{where} must be {kind + ' ' if kind else ''}{what}, got {value}{hint}")


def positive(where: str, value: Any, hint: str = "") -> None:
    """A finite number > 0 (or unset)."""
    in_range(where, value, 0, open_low=True, hint=hint)


def count(where: str, value: Any, low: int = 1, hint: str = "") -> None:
    """A whole number >= `low` (or unset)."""
    in_range(where, value, low, hint=hint)


def seed(where: str, value: Any) -> None:
    in_range(where, value, 0, SEED_LIMIT, open_high=True)


def name(where: str, value: Any) -> None:
    """A non-empty string (or unset): an empty column, model or module name fails later with no hint."""
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ConfigError(f"{where} must be a non-empty string; got {value!r}")
