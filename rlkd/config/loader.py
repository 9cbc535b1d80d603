"""YAML → RunConfig, strictly: dotted overrides, then every key checked against its section's annotations
(rlkd.config.strict) and the `grpo:` keys against TRL's (rlkd.config.trl_bridge).

    cfg = load_config("configs/tiny-cpu.yaml", ["grpo.max_steps=4"])
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import yaml

from rlkd.config.schema import RunConfig
from rlkd.config.strict import build
from rlkd.config.trl_bridge import check_grpo_section
from rlkd.errors import ENV_NAME, ConfigError, first_line, redact, remember_secret


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
        problem = getattr(e, "problem", None) or first_line(e)
        raise ConfigError(f"{path}: invalid YAML{where}: {problem}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections (model, data, rewards, ...)")
    for override in overrides:
        apply_override(raw, override)
    remember_secrets(raw)
    raw.setdefault("grpo", {})
    if isinstance(raw["grpo"], dict):
        raw["grpo"].setdefault("output_dir", f"runs/{path.stem}")
    return parse_config(raw)


def parse_config(raw: dict[str, Any]) -> RunConfig:
    cfg = build(RunConfig, raw, "")
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


_SECRET_PARAM = re.compile(r"key|token|secret|sig|passw|auth|credential", re.I)


def remember_secrets(node: Any, key: str = "") -> None:
    """Tell rlkd.errors every secret in a raw config: URL credentials, a value pasted into `api_key_env` that is
    not a variable name, and the key held by the variable it names; log lines and messages then mask them."""
    import os
    import urllib.parse

    if isinstance(node, dict):
        for k, v in node.items():
            remember_secrets(v, str(k))
    elif isinstance(node, list):
        for v in node:
            remember_secrets(v, key)
    elif isinstance(node, str):
        if key == "api_key_env":
            remember_secret(os.environ.get(node) if ENV_NAME.match(node) else node)
        elif "://" in node:
            try:
                parts = urllib.parse.urlsplit(node)
            except ValueError:
                return
            if parts.password:
                remember_secret(urllib.parse.unquote(parts.password))
            elif parts.username:  # https://TOKEN@host: the user name is the secret
                remember_secret(urllib.parse.unquote(parts.username))
            for name, value in urllib.parse.parse_qsl(parts.query):
                if _SECRET_PARAM.search(name):
                    remember_secret(value)


def _redacted(node: Any, key: str = "") -> Any:
    if isinstance(node, dict):
        return {k: _redacted(v, str(k)) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return type(node)(_redacted(v, key) for v in node)
    if isinstance(node, str):
        return "***" if key == "api_key_env" and not ENV_NAME.match(node) else redact(node)
    return node


def to_dict(cfg: RunConfig) -> dict[str, Any]:
    """The resolved config as plain data (defaults filled in), for config.resolved.yaml and wandb.config: with
    secrets masked (URL credentials become ***), since both are records others read."""
    return _redacted(dataclasses.asdict(cfg))


def dump_yaml(cfg: RunConfig) -> str:
    return yaml.safe_dump(to_dict(cfg), sort_keys=False, default_flow_style=False)
