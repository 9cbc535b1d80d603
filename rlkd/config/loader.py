"""YAML → RunConfig, strictly: dotted overrides, then every key checked against its section's annotations.

An unknown key fails with the valid keys listed (and a "did you mean"); a wrong type fails with the key and what to
set; YAML 1.1's ambiguities (`1e-6` read as a string, a bare `on` as a boolean) are resolved by the annotation. The
same checker (`coerce`) serves TRL's own config classes in rlkd.config.trl_bridge.

    cfg = load_config("configs/tiny-cpu.yaml", ["grpo.max_steps=4"])
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import types
import typing
from pathlib import Path
from typing import Any, Literal

import yaml

from rlkd.config.schema import RunConfig
from rlkd.errors import ConfigError


def load_config(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> RunConfig:
    """Read a YAML config, apply dotted `key=value` overrides, and return the checked RunConfig."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{path}: invalid YAML{where}: {problem}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections (model, data, rewards, ...)")
    for override in overrides:
        apply_override(raw, override)
    raw.setdefault("grpo", {})
    if isinstance(raw["grpo"], dict):
        raw["grpo"].setdefault("output_dir", f"runs/{path.stem}")
    return parse_config(raw)


def parse_config(raw: dict[str, Any]) -> RunConfig:
    from rlkd.config.trl_bridge import check_grpo_section

    cfg = _build(RunConfig, raw, "")
    check_grpo_section(cfg.grpo)
    return cfg


def apply_override(raw: dict[str, Any], override: str) -> None:
    """Apply `a.b.c=value` to the nested dict `raw`; the value is parsed as YAML (`4` → int, `true` → bool)."""
    key, sep, text = override.partition("=")
    if not sep or not key:
        raise ConfigError(f"override '{override}' must look like section.key=value, e.g. grpo.max_steps=4")
    try:
        value = yaml.safe_load(text) if text else ""
    except yaml.YAMLError:
        value = text
    node: Any = raw
    parts = key.split(".")
    for i, part in enumerate(parts[:-1]):
        node = _child(node, part, ".".join(parts[: i + 1]))
    last = parts[-1]
    if isinstance(node, list):
        node[_index(node, last, key)] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise ConfigError(f"override '{override}': {'.'.join(parts[:-1])} is not a section")


def _index(node: list, part: str, where: str) -> int:
    if not part.isdigit() or int(part) >= len(node):
        raise ConfigError(f"override {where}: '{part}' is not an index of a list of {len(node)}")
    return int(part)


def _child(node: Any, part: str, where: str) -> Any:
    if isinstance(node, list):
        return node[_index(node, part, where)]
    if not isinstance(node, dict):
        raise ConfigError(f"override {where}: the parent is not a section")
    if part not in node or node[part] is None:
        node[part] = {}
    return node[part]


# ---------------------------------------------------------------------------------------------------------------
# Strict construction of dataclasses from plain YAML data


def _build(cls: type, data: Any, where: str) -> Any:
    label = where or "config"
    if not isinstance(data, dict):
        raise ConfigError(f"{label}: expected a mapping of keys, got {_describe(data)}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in fields:
            raise ConfigError(unknown_key_message(_join(where, str(key)), str(key), list(fields)))
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


def _describe(value: Any) -> str:
    return f"{type(value).__name__} {value!r}" if not isinstance(value, (dict, list)) else type(value).__name__


def coerce(value: Any, tp: Any, where: str) -> Any:
    """Check `value` against the annotation `tp`, converting only where YAML is ambiguous (`1e-6` is a string)."""
    if tp is Any or tp is object:
        return value
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, where)
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
        raise ConfigError(f"{where} must be one of {', '.join(repr(a) for a in args)}; got {value!r}")
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where} must be true or false; got {_describe(value)}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{where} must be an integer; got {_describe(value)}")
    if tp is float:
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
        return {k: coerce(v, args[1], f"{where}.{k}") for k, v in value.items()} if args else value
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        valid = [m.value for m in tp]
        if value is False and "no" in valid:
            return "no"  # YAML 1.1 reads a bare `no` (save_strategy=no) as false
        if value in valid or isinstance(value, tp):
            return value
        raise ConfigError(f"{where} must be one of {', '.join(map(repr, valid))}; got {value!r}")
    return value  # a type YAML cannot express: leave it to the consumer


def to_dict(cfg: RunConfig) -> dict[str, Any]:
    """The resolved config as plain data (defaults filled in), for config.resolved.yaml and wandb.config."""
    return dataclasses.asdict(cfg)


def dump_yaml(cfg: RunConfig) -> str:
    return yaml.safe_dump(to_dict(cfg), sort_keys=False, default_flow_style=False)
