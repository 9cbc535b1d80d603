"""Fuzzing the config: any input — unknown keys, hostile values in every field, YAML aliases, nesting and encodings
— is either a config that builds (RunConfig, TRL's GRPOConfig and SFTConfig, the rewards, generated data) or a
one-line ConfigError/RewardError, which the CLI prints as `rlkd: error: ...` with exit status 2. Never a traceback,
and never a hang: an outside test found 49 of 245 bad inputs printing tracebacks and YAML alias bombs hanging for
minutes before these checks existed."""

import copy
import dataclasses
import math
import time
import typing

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from trl import GRPOConfig, SFTConfig

from rewards import RewardError
from rlkd.config import (
    OWNED_GRPO_KEYS,
    ConfigError,
    RewardSpec,
    RunConfig,
    apply_override,
    build_grpo_config,
    build_sft_config,
    load_config,
    parse_config,
)
from rlkd.config.trl_bridge import OWNED_SFT_KEYS
from rlkd.data.datasets import load_raw_splits
from rlkd.training.rewards import close_rewards, resolve_rewards

SECTIONS = ["model", "data", "rewards", "curriculum", "generation", "wandb", "grpo", "plugins", "bogus"]
KEYS = [
    "name_or_path",
    "dtype",
    "generator",
    "path",
    "name",
    "weight",
    "args",
    "backend",
    "temperature",
    "top_p",
    "mode",
    "max_steps",
    "learning_rate",
    "output_dir",
    "num_generations",
    "thinking",
    "x",
]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**6), st.floats(allow_nan=True), st.text(max_size=12))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)),
    max_leaves=12,
)
configs = st.dictionaries(
    st.sampled_from(SECTIONS), st.one_of(values, st.dictionaries(st.sampled_from(KEYS), values)), max_size=7
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs)
def test_parse_never_crashes(raw):
    try:
        assert isinstance(parse_config(raw), RunConfig)
    except ConfigError as e:
        assert str(e) and "\n" not in str(e)


BASE = {
    "model": {"name_or_path": "m"},
    "data": {"generator": "arithmetic"},
    "rewards": [{"name": "accuracy"}],
    "grpo": {"output_dir": "o"},
}


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="abcdegmoprstuvwxy._=0123456789 -", max_size=40))
def test_overrides_never_crash(override):
    raw = {k: (dict(v) if isinstance(v, dict) else [dict(r) for r in v]) for k, v in BASE.items()}
    try:
        apply_override(raw, override)
        parse_config(raw)
    except ConfigError as e:
        assert str(e) and "\n" not in str(e)


# -- values: every field, every hostile value -------------------------------------------------------------------

# What people (and fuzzers) put where a number belongs: NaN, both infinities, zero, negatives, huge ints (past int64
# and past a float), a near-overflow float, strings (one that reads as a number), booleans, null and containers.
HOSTILE = [math.nan, math.inf, -math.inf, 0, -1, 0.5, 2, 10**30, -(2**63), 2**64, 1e308, "", "x", "1e-6"]
HOSTILE += [True, False, None, [], {}, [1], {"a": 1}]
# The demo generator's own arguments (data.generator_args), fuzzed through the data build like the fields.
GENERATOR_ARGS = ["num_train", "num_eval", "min_digits", "max_digits", "ops", "template", "seed", "eval_max_share"]
SMALL_DATA = {"generator": "arithmetic", "generator_args": {"num_train": 8, "num_eval": 4}}


def _field_paths() -> list[tuple]:
    """Every field a config can set: rlkd's sections (a reward's fields through rewards.0), the generator's
    arguments, and every TRL field `grpo:` and `sft.args` pass on (those rlkd owns are refused by name)."""
    paths: list[tuple] = []
    hints = typing.get_type_hints(RunConfig)
    for f in dataclasses.fields(RunConfig):
        if dataclasses.is_dataclass(hints[f.name]):
            paths += [(f.name, g.name) for g in dataclasses.fields(hints[f.name])]
        elif f.name == "rewards":
            paths += [("rewards", 0, g.name) for g in dataclasses.fields(RewardSpec)]
        elif f.name == "grpo":
            paths += [
                ("grpo", g.name) for g in dataclasses.fields(GRPOConfig) if g.init and g.name not in OWNED_GRPO_KEYS
            ]
        else:
            paths.append((f.name,))
    paths += [
        ("sft", "args", g.name) for g in dataclasses.fields(SFTConfig) if g.init and g.name not in OWNED_SFT_KEYS
    ]
    paths += [("data", "generator_args", key) for key in GENERATOR_ARGS]
    return paths


FIELD_PATHS = _field_paths()


def _with(assignments: dict[tuple, object]) -> dict:
    raw = copy.deepcopy({**BASE, "data": SMALL_DATA})
    for path, value in assignments.items():
        node = raw
        for part in path[:-1]:
            if isinstance(node, dict) and not isinstance(node.get(part), (dict, list)):
                node[part] = {}  # an earlier assignment put a scalar where this one needs a section
            node = node[part]
        node[path[-1]] = copy.deepcopy(value)
    return raw


def _builds_or_one_line(raw: dict, build_data: bool) -> None:
    """The property: everything `rlkd train` and `rlkd sft` build from the config before they load a model builds,
    or the first problem is one line. Data is generated only when the case touches it (it costs milliseconds)."""
    try:
        cfg = parse_config(raw)
        build_grpo_config(cfg)
        build_sft_config(cfg)
        close_rewards(resolve_rewards(cfg))
        if build_data:
            load_raw_splits(cfg.data)
    except (ConfigError, RewardError) as e:
        message = str(e)
        assert message and "\n" not in message, message


def test_every_field_takes_every_hostile_value():
    # ~8,000 cases, a few seconds: deterministic, so a regression in any one field fails the same way every time
    assert len(FIELD_PATHS) > 300  # rlkd's fields, the generator's and TRL's
    for path in FIELD_PATHS:
        for value in HOSTILE:
            _builds_or_one_line(_with({path: value}), build_data=path[0] == "data")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(FIELD_PATHS), st.sampled_from(HOSTILE) | scalars, min_size=1, max_size=4))
def test_hostile_values_in_any_combination(assignments):
    # several fields at once: cross-field checks (TRL's batch divisibility, min < max) meet out-of-range values
    _builds_or_one_line(_with(assignments), build_data=any(path[0] == "data" for path in assignments))


@pytest.mark.parametrize(
    "path, value, message",
    [
        (("grpo", "learning_rate"), math.nan, "grpo.learning_rate must be in (0, 1], got nan"),
        (("grpo", "learning_rate"), -1e-6, "grpo.learning_rate must be in (0, 1]"),
        (("grpo", "learning_rate"), 1e300, "grpo.learning_rate must be in (0, 1]"),  # "huge": diverges at once
        (("grpo", "num_generations"), 0, "grpo.num_generations must be >= 2"),  # TRL divided by it
        (("grpo", "per_device_train_batch_size"), 0, "grpo.per_device_train_batch_size must be >= 1"),
        (("grpo", "gradient_accumulation_steps"), 0, "grpo.gradient_accumulation_steps must be >= 1"),
        (("grpo", "dataloader_num_workers"), -1, "grpo.dataloader_num_workers must be >= 0"),
        (("grpo", "seed"), 2**40, "grpo.seed must be in [0, 4294967296)"),  # numpy's seeds are 32-bit
        (("grpo", "max_steps"), 10**30, "grpo.max_steps must fit in 64 bits"),
        (("sft", "args", "learning_rate"), math.inf, "sft.args.learning_rate must be in (0, 1]"),
        (("generation", "temperature"), math.nan, "generation.temperature must be > 0, got nan"),
        (("generation", "top_k"), -5, "generation.top_k must be >= 0"),
        (("generation", "min_p"), 2, "generation.min_p must be in [0, 1]"),
        (("generation", "repetition_penalty"), -1, "generation.repetition_penalty must be > 0"),
        (("curriculum", "sigma"), math.nan, "curriculum.sigma must be > 0"),  # nan <= 0 is False: it slipped by
        (("sft", "temperature"), math.inf, "sft.temperature must be > 0"),
        (("rewards", 0, "weight"), math.nan, "rewards[accuracy].weight must be a finite number"),
        (("rewards", 0, "batch_timeout"), 0, "rewards[accuracy].batch_timeout must be > 0"),
        (("rewards", 0, "name"), ":fn", "give both parts of package.module:function"),  # empty module
        (("rewards", 0, "name"), "mod:", "give both parts of package.module:function"),  # empty function
        (("data", "generator_args", "max_digits"), 5000, "max_digits must be an integer in [1, 100]"),
        (("data", "generator_args", "min_digits"), 3, "need 1 <= min_digits <= max_digits"),
        (("data", "generator_args", "ops"), [], "ops must be a non-empty list"),
        (("data", "generator_args", "template"), "{foo}", "template may use only the field {question}"),
    ],
)
def test_the_values_people_get_wrong_say_what_to_set(path, value, message):
    raw = _with({path: value})
    with pytest.raises((ConfigError, RewardError)) as e:
        cfg = parse_config(raw)
        build_grpo_config(cfg)
        build_sft_config(cfg)
        load_raw_splits(cfg.data)
    assert message in str(e.value) and "\n" not in str(e.value)


# -- YAML structure: aliases, nesting, encodings ----------------------------------------------------------------

BASE_YAML = """model: {name_or_path: m}
data: {generator: arithmetic}
rewards:
  - name: format
    args: ARGS
sft:
  args: {model_init_kwargs: SFT}
grpo:
  output_dir: o
  model_init_kwargs: GRPO
"""
SLOTS = ["ARGS", "SFT", "GRPO"]  # the three places the outside test hid alias bombs in


def _laughs(levels: int, width: int) -> str:
    """The billion-laughs shape: each level a list of `width` aliases to the one below (width**levels values)."""
    text = "{l0: &l0 [" + ", ".join(["lol"] * width) + "]"
    for i in range(1, levels):
        text += f", l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]"
    return text + "}"


def _nested(depth: int, flow: bool) -> str:
    return "[" * depth + "]" * depth if flow else "{" + "{a: " * depth + "1" + "}" * depth + "}"


structures = st.one_of(
    st.builds(_laughs, st.integers(1, 12), st.integers(1, 12)),
    st.builds(_nested, st.integers(1, 5000), st.booleans()),
    st.just("&r {a: *r}"),  # an alias inside its own anchor
    st.just("*undefined"),
    st.just("{}"),
)
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "latin-1"]


def _load_one_line(path) -> None:
    start = time.monotonic()
    try:
        load_config(path)
    except ConfigError as e:
        assert str(e) and "\n" not in str(e), str(e)
    assert time.monotonic() - start < 10, "a bounded document parses in well under a second"


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(st.dictionaries(st.sampled_from(SLOTS), structures), st.sampled_from(ENCODINGS))
@pytest.mark.timeout(300)
def test_yaml_structure_never_bombs(tmp_path, slots, encoding):
    text = BASE_YAML
    for slot in SLOTS:
        text = text.replace(slot, slots.get(slot, "{}"))
    text = text.replace("arithmetic", "arithmétic") if encoding == "latin-1" else text  # a byte UTF-8 refuses
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(text.encode(encoding))
    _load_one_line(path)


@pytest.mark.parametrize(
    "slot, body, message",
    [
        ("ARGS", _laughs(9, 9), "expands to more than"),  # billion laughs in rewards[].args
        ("SFT", _laughs(9, 9), "expands to more than"),  # ... in sft.args
        ("GRPO", _laughs(9, 9), "expands to more than"),  # ... in grpo.model_init_kwargs
        ("ARGS", _nested(100_000, flow=True), "nested deeper than"),  # would end in a RecursionError
        ("ARGS", "&r {a: *r}", "refers to itself"),  # a cycle: deep copies would never end
    ],
)
def test_yaml_bombs_fail_fast_with_one_line(tmp_path, slot, body, message):
    path = tmp_path / "bomb.yaml"
    path.write_text(BASE_YAML.replace(slot, body).replace("ARGS", "{}").replace("SFT", "{}").replace("GRPO", "{}"))
    start = time.monotonic()
    with pytest.raises(ConfigError, match=message):
        load_config(path)
    assert time.monotonic() - start < 5  # was 150 s and more


@pytest.mark.parametrize(
    "data, message",
    [
        (BASE_YAML.encode("utf-16"), "is UTF-16-encoded; save it as UTF-8"),  # with a byte-order mark
        (BASE_YAML.encode("utf-16-le"), "holds NUL bytes"),  # without one
        (BASE_YAML.encode("utf-32"), "is UTF-32-encoded"),
        ("model: {name_or_path: é}\n".encode("latin-1"), "is not valid UTF-8 (line 1"),
        (b"model: " + b"x" * (1 << 20), "too large for a config"),
        ("grpo: {max_steps: " + "9" * 5000 + "}\n", "invalid YAML"),  # past Python's int-from-string limit
    ],
)
def test_bad_bytes_are_one_line(tmp_path, data, message):
    path = tmp_path / "bad.yaml"
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_an_alias_bomb_in_an_override_fails_fast():
    raw = copy.deepcopy(BASE)
    start = time.monotonic()
    with pytest.raises(ConfigError, match="expands to more than"):
        apply_override(raw, "rewards.0.args=" + _laughs(9, 9))
    assert time.monotonic() - start < 5


def test_ordinary_aliases_still_work(tmp_path):
    # anchors and merge keys are how people share settings: small ones stay allowed
    path = tmp_path / "anchors.yaml"
    path.write_text(
        "model: {name_or_path: m}\ndata: {generator: arithmetic}\n"
        "rewards: [{name: accuracy, weight: &w 0.5}, {name: format, weight: *w}]\n"
        "grpo: &g {output_dir: o, max_steps: 3}\nsft: {args: {<<: *g, output_dir: o-sft}}\n"
    )
    cfg = load_config(path)
    assert [r.weight for r in cfg.rewards] == [0.5, 0.5] and cfg.sft.args["max_steps"] == 3
