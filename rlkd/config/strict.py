"""Strict construction of dataclasses from plain YAML data: the checker behind every config section.

`build(cls, data, where)` refuses an unknown key (listing the valid ones, with a "did you mean"), a missing
required key and a value of the wrong type; `coerce(value, annotation, where)` checks one value against an
annotation, converting only where YAML 1.1 is ambiguous (`1e-6` read as a string, a bare `on` as a boolean). The
loader uses both for rlkd's sections, and rlkd.config.trl_bridge uses `coerce` for TRL's config classes.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import types
import typing
from typing import Any, Literal

from rlkd.errors import ConfigError


def build(cls: type, data: Any, where: str) -> Any:
    label = where or "config"
    if not isinstance(data, dict):
        raise ConfigError(f"{label}: expected a mapping of keys, got {_describe(data)}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in fields:
            text = key if isinstance(key, str) else _describe(key)
            raise ConfigError(unknown_key_message(_join(where, text), text, list(fields)))
    hints = typing.get_type_hints(cls)
    kwargs = {key: coerce(value, hints[key], _join(where, key)) for key, value in data.items()}
    for name, f in fields.items():
        if name not in kwargs and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{_join(where, name)} is required")
    return cls(**kwargs)


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def unknown_key_message(full_key: str, key: str, valid: list[str]) -> str:
    close = difflib.get_close_matches(key, valid, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown key '{full_key}'{hint}; valid keys: {', '.join(valid)}"


_MAX_SHOWN = 60  # characters of a bad value quoted in an error: the message stays one readable line
INT_BITS = 63  # every integer a config holds must fit in an int64 (torch, numpy and Arrow store them so)


def _describe(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return type(value).__name__
    if isinstance(value, int) and value.bit_length() > INT_BITS:
        return f"int of {value.bit_length()} bits"  # repr() of a huge int is refused past 4300 digits
    shown = repr(value)
    return f"{type(value).__name__} {shown if len(shown) <= _MAX_SHOWN else shown[:_MAX_SHOWN] + '...'}"


def coerce(value: Any, tp: Any, where: str) -> Any:
    """Check `value` against the annotation `tp`, converting only where YAML is ambiguous (`1e-6` is a string)."""
    if tp is Any or tp is object:
        return value
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if dataclasses.is_dataclass(tp):
        return build(tp, value, where)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return coerce(value, arg, where)
            except ConfigError as e:
                errors.append(e)
        raise errors[-1] if len(errors) == 1 else ConfigError(f"{where}: {_describe(value)} is not a valid value")
    if origin is Literal:
        if isinstance(value, bool) and ("on" if value else "off") in args:
            return "on" if value else "off"  # YAML 1.1 reads a bare on/off as a boolean
        if value in args and not isinstance(value, bool):
            return value
        raise ConfigError(f"{where} must be one of {', '.join(repr(a) for a in args)}; got {_describe(value)}")
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where} must be true or false; got {_describe(value)}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            if value.bit_length() > INT_BITS:
                raise ConfigError(f"{where} must fit in 64 bits; got an {_describe(value)}")
            return value
        raise ConfigError(f"{where} must be an integer; got {_describe(value)}")
    if tp is float:
        if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > INT_BITS:
            raise ConfigError(f"{where} must be a number of sensible size; got an {_describe(value)}")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads 1e-6 (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
        raise ConfigError(f"{where} must be a number; got {_describe(value)}")
    if tp is str:
        if isinstance(value, str):
            return value
        hint = " (YAML reads a bare yes/no/on/off as a boolean: quote it)" if isinstance(value, bool) else ""
        raise ConfigError(f"{where} must be a string; got {_describe(value)}{hint}")
    if origin is list or tp is list:
        if not isinstance(value, list):
            raise ConfigError(f"{where} must be a list; got {_describe(value)}")
        return [coerce(v, args[0], f"{where}.{i}") for i, v in enumerate(value)] if args else value
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a mapping; got {_describe(value)}")
        if args and args[0] is str and not all(isinstance(k, str) for k in value):
            bad = next(k for k in value if not isinstance(k, str))
            raise ConfigError(f"{where}: keys must be strings; got {_describe(bad)} (quote it in YAML)")
        return {k: coerce(v, args[1], f"{where}.{k}") for k, v in value.items()} if args else value
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        valid = [m.value for m in tp]
        if value is False and "no" in valid:
            return "no"  # YAML 1.1 reads a bare `no` (save_strategy=no) as false
        if value in valid or isinstance(value, tp):
            return value
        raise ConfigError(f"{where} must be one of {', '.join(map(repr, valid))}; got {_describe(value)}")
    return value  # a type YAML cannot express: leave it to the consumer
