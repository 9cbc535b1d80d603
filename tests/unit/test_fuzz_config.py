"""Fuzzing the config parser: any YAML-shaped input is either a RunConfig or a one-line ConfigError, never a crash."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rlkd.config import ConfigError, RunConfig, apply_override, parse_config

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
