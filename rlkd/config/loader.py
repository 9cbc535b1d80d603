"""YAML → RunConfig, strictly: dotted overrides, then every key checked against its section's annotations
(rlkd.config.strict), the `grpo:` keys against TRL's and the `peft:` section against peft.LoraConfig
(rlkd.config.trl_bridge).

    cfg = load_config("configs/tiny-cpu.yaml", ["grpo.max_steps=4"])

YAML that cannot bomb: a config is at most MAX_CONFIG_BYTES of UTF-8 (UTF-16, UTF-32 and invalid bytes are one-line
errors), and its event stream is checked before anything is built from it, so a nesting deeper than MAX_DEPTH, an
alias that refers to itself, or aliases that expand to more than MAX_NODES values (a "billion laughs" in
`rewards[].args` would otherwise hang the run in deep copies of a 9^9-element list) fail in milliseconds.
"""

from __future__ import annotations

import codecs
import dataclasses
import re
from pathlib import Path
from typing import Any

import yaml

from rlkd.config.schema import RunConfig
from rlkd.config.strict import build
from rlkd.config.trl_bridge import build_peft_config, check_grpo_section
from rlkd.errors import ENV_NAME, ConfigError, first_line, redact, remember_secret

MAX_CONFIG_BYTES = 1 << 20  # configs are a few KiB; a MiB of YAML parses in about a second
MAX_DEPTH = 64  # nesting levels; PyYAML composes recursively, so a deep document would end in a RecursionError
MAX_NODES = 100_000  # values after aliases are expanded; a real config has a few hundred

_BOMS = [
    (codecs.BOM_UTF32_LE, "UTF-32"),  # before UTF-16's: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
]


def read_config_text(path: Path) -> str:
    """The config file's text: bounded in size, and UTF-8 (a UTF-8 byte-order mark is allowed)."""
    try:
        size = path.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise ConfigError(f"{path}: {size} bytes is too large for a config (at most {MAX_CONFIG_BYTES})")
        data = path.read_bytes()[: MAX_CONFIG_BYTES + 1]
    except OSError as e:
        raise ConfigError(f"{path}: cannot read it: {first_line(e)}") from None
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            raise ConfigError(f"{path} is {encoding}-encoded; save it as UTF-8")
    if b"\x00" in data:
        raise ConfigError(f"{path} holds NUL bytes (UTF-16 or UTF-32 without a byte-order mark?); save it as UTF-8")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise ConfigError(f"{path} is not valid UTF-8 (line {line}, byte {e.start}); save it as UTF-8") from None


def _bounded(text: str, where: str) -> None:
    """Walk the YAML event stream (PyYAML's parser keeps its own stack, so this cannot recurse) and refuse deep
    nesting, self-referring aliases and alias expansion beyond MAX_NODES, before anything is composed."""
    depth, expanded = 0, 0
    open_: list[tuple[str | None, int]] = []  # (anchor, `expanded` when the collection started)
    sizes: dict[str, int] = {}  # anchor -> the number of values it expands to
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise ConfigError(f"{where}: YAML nested deeper than {MAX_DEPTH} levels")
            open_.append((event.anchor, expanded))
            expanded += 1
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1
            anchor, start = open_.pop()
            if anchor is not None:
                sizes[anchor] = expanded - start
        elif isinstance(event, yaml.ScalarEvent):
            expanded += 1
            if event.anchor is not None:
                sizes[event.anchor] = 1
        elif isinstance(event, yaml.AliasEvent):
            if any(anchor == event.anchor for anchor, _ in open_):
                raise ConfigError(f"{where}: the YAML alias *{event.anchor} refers to itself")
            expanded += sizes.get(event.anchor, 1)  # an undefined alias: the composer says so
        if expanded > MAX_NODES:
            raise ConfigError(
                f"{where}: the YAML expands to more than {MAX_NODES} values through its aliases (&name/*name); "
                "write the values out"
            )


def safe_load(text: str, where: str) -> Any:
    """yaml.safe_load within the bounds above; a bomb is a ConfigError, bad syntax a yaml.YAMLError."""
    _bounded(text, where)
    try:
        return yaml.safe_load(text)
    except (ValueError, RecursionError, OverflowError) as e:  # e.g. an integer of more than 4300 digits
        raise ConfigError(f"{where}: invalid YAML: {first_line(e).split(';')[0]}") from None


def load_config(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> RunConfig:
    """Read a YAML config, apply dotted `key=value` overrides, and return the checked RunConfig."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        raw = safe_load(read_config_text(path), str(path))
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
    build_peft_config(cfg)  # PEFT's own checks of the section, before anything loads
    return cfg


def apply_override(raw: dict[str, Any], override: str) -> None:
    """Apply `a.b.c=value` to the nested dict `raw`; the value is parsed as YAML (`4` → int, `true` → bool)."""
    key, sep, text = override.partition("=")
    if not sep or not key:
        raise ConfigError(f"override '{override}' must look like section.key=value, e.g. grpo.max_steps=4")
    try:
        value = safe_load(text, f"override '{key}'") if text else ""
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
