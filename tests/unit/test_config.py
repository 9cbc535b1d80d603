"""Config parsing: strict keys, types, overrides and the errors users see."""

import pytest
import yaml

from rlkd.config import (
    ConfigError,
    apply_override,
    build_grpo_config,
    dump_yaml,
    load_config,
    parse_config,
)

MINIMAL = {
    "model": {"name_or_path": "some/model"},
    "data": {"generator": "arithmetic"},
    "rewards": [{"name": "accuracy"}],
    "grpo": {"output_dir": "runs/x"},
}


def _raw(**sections):
    raw = yaml.safe_load(yaml.safe_dump(MINIMAL))
    for key, value in sections.items():
        raw[key] = value
    return raw


def test_minimal_config_fills_defaults():
    cfg = parse_config(_raw())
    assert cfg.model.dtype == "float32"
    assert cfg.generation.backend == "transformers"
    assert cfg.wandb.mode == "auto"
    assert cfg.rewards[0].weight == 1.0


def test_shipped_tiny_config_loads_and_builds(tmp_path):
    cfg = load_config("configs/tiny-cpu.yaml", [f"grpo.output_dir={tmp_path}"])
    args = build_grpo_config(cfg)
    assert args.reward_weights == [1.0, 0.5]
    assert args.max_completion_length == cfg.generation.max_completion_length
    assert args.bf16 is False  # a CPU box never gets mixed precision by default
    assert args.remove_unused_columns is False  # solution/thinking columns must reach the rewards


@pytest.mark.parametrize(
    "raw, fragment",
    [
        # a misspelt top-level section names the key and lists valid ones
        ({**MINIMAL, "rewardz": []}, "unknown key 'rewardz' (did you mean 'rewards'?)"),
        # a misspelt nested key carries its full dotted path
        (_raw(model={"name_or_pth": "x"}), "unknown key 'model.name_or_pth'"),
        # a misspelt grpo key is checked against TRL's GRPOConfig fields
        (_raw(grpo={"output_dir": "x", "learnin_rate": 1e-5}), "unknown key 'grpo.learnin_rate'"),
        # wrong scalar type
        (_raw(generation={"temperature": "hot"}), "generation.temperature must be a number; got str 'hot'"),
        # wrong type in the grpo section, checked against TRL's annotation (float)
        (_raw(grpo={"output_dir": "x", "learning_rate": "abc"}), "grpo.learning_rate must be a number"),
        # int fields refuse floats
        (_raw(grpo={"output_dir": "x", "max_steps": 2.5}), "grpo.max_steps must be an integer"),
        # enum-like fields list their values
        (_raw(generation={"backend": "sglang"}), "generation.backend must be one of 'transformers', 'vllm'"),
        # bool fields refuse strings
        (_raw(model={"name_or_path": "x", "trust_remote_code": "yes"}), "must be true or false"),
        # a required key
        (_raw(model={}), "model.name_or_path is required"),
        # cross-field: data needs exactly one source
        (_raw(data={"path": "a.jsonl", "generator": "arithmetic"}), "set exactly one of data.path"),
        # sampling belongs to generation, not grpo: one source of truth
        (
            _raw(grpo={"output_dir": "x", "temperature": 0.7}),
            "grpo.temperature is set by rlkd from generation.temperature",
        ),
        # reward weights come from the rewards list
        (_raw(grpo={"output_dir": "x", "reward_weights": [1.0]}), "set rewards[].weight instead"),
        # empty reward list
        (_raw(rewards=[]), "list at least one reward"),
        # a section of the wrong shape
        (_raw(generation=[1, 2]), "generation: expected a mapping"),
        # value checks in __post_init__
        (_raw(generation={"top_p": 1.5}), "generation.top_p must be in (0, 1]"),
        # peft: a rank-0 adapter trains nothing
        (_raw(peft={"r": 0}), "peft.r must be >= 1"),
        # peft keys are PEFT's names; the obvious short name points at the real one
        (_raw(peft={"alpha": 16}), "unknown key 'peft.alpha' (did you mean 'lora_alpha'?)"),
        # dropout 1 zeroes every adapter input
        (_raw(peft={"lora_dropout": 1.0}), "peft.lora_dropout must be in [0, 1)"),
        # an empty target list would silently train nothing
        (_raw(peft={"target_modules": []}), "peft.target_modules is empty"),
        # other LoraConfig fields go in peft.args, type-checked against LoraConfig's own annotations
        (_raw(peft={"args": {"use_dora": "yes"}}), "peft.args.use_dora must be true or false"),
        (_raw(peft={"args": {"lora_alpah": 3}}), "unknown key 'peft.args.lora_alpah'"),
        # rlkd trains a causal-LM adapter: the task type is not the user's to change
        (_raw(peft={"args": {"task_type": "SEQ_CLS"}}), "peft.args.task_type is fixed by rlkd"),
        # one source of truth: a typed key may not come in through args too
        (_raw(peft={"args": {"r": 8}}), "peft.args.r: set peft.r instead"),
        # PEFT's own cross-field checks become one line too
        (_raw(peft={"args": {"layers_to_transform": [0]}}), "peft: `layers_to_transform` cannot be used"),
    ],
)
def test_bad_configs_fail_with_one_clear_line(raw, fragment):
    with pytest.raises(ConfigError) as err:
        parse_config(raw)
    assert fragment in str(err.value)
    assert "\n" not in str(err.value)


def test_peft_section_builds_a_lora_config():
    from rlkd.config import build_peft_config

    assert build_peft_config(parse_config(_raw())) is None  # no section: full fine-tuning
    lora = build_peft_config(
        parse_config(_raw(peft={"r": 4, "target_modules": ["q_proj"], "args": {"use_dora": True}}))
    )
    assert (lora.r, lora.lora_alpha, lora.lora_dropout) == (4, 32.0, 0.0)  # rlkd's defaults fill the rest
    assert lora.target_modules == {"q_proj"} and lora.use_dora is True and lora.task_type == "CAUSAL_LM"
    raw = _raw()
    apply_override(raw, "peft.r=8")  # a dotted override alone switches LoRA on, at the section's defaults
    assert parse_config(raw).peft.r == 8


def test_yaml_scientific_notation_without_dot_is_a_float():
    # YAML 1.1 reads 1e-6 as the string "1e-6"; users write it anyway.
    cfg = parse_config(_raw(grpo={"output_dir": "x", "learning_rate": "1e-6"}))
    assert build_grpo_config(cfg).learning_rate == pytest.approx(1e-6)


@pytest.mark.parametrize(
    "override, path, expected",
    [
        ("grpo.max_steps=4", ("grpo", "max_steps"), 4),  # ints parse as ints
        ("grpo.learning_rate=1e-6", ("grpo", "learning_rate"), "1e-6"),  # left for the float coercion
        ("wandb.mode=disabled", ("wandb", "mode"), "disabled"),  # creates a missing section
        ("rewards.0.weight=0.25", ("rewards", 0, "weight"), 0.25),  # list index
        ("model.trust_remote_code=true", ("model", "trust_remote_code"), True),
    ],
)
def test_dotted_overrides(override, path, expected):
    raw = _raw()
    apply_override(raw, override)
    node = raw
    for part in path:
        node = node[part]
    assert node == expected


@pytest.mark.parametrize(
    "override, fragment",
    [
        ("grpo.max_steps", "must look like section.key=value"),  # no '='
        ("rewards.5.weight=1", "'5' is not an index of a list of 1"),  # index out of range
    ],
)
def test_bad_overrides(override, fragment):
    with pytest.raises(ConfigError, match=fragment):
        apply_override(_raw(), override)


def test_override_with_unknown_key_is_caught_by_the_strict_parser(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(MINIMAL))
    with pytest.raises(ConfigError, match="unknown key 'generation.temprature'"):
        load_config(path, ["generation.temprature=0.5"])


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  name_or_path: [unclosed\n")
    with pytest.raises(ConfigError, match=r"invalid YAML at line \d+"):
        load_config(bad)


def test_output_dir_defaults_to_runs_config_stem(tmp_path):
    raw = _raw()
    del raw["grpo"]
    path = tmp_path / "my-run.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert str(load_config(path).output_dir) == "runs/my-run"


def test_trl_cross_field_checks_become_config_errors():
    # TRL requires the generation batch to be divisible by the group size.
    cfg = parse_config(_raw(grpo={"output_dir": "x", "per_device_train_batch_size": 6, "num_generations": 4}))
    with pytest.raises(ConfigError, match="^grpo: "):
        build_grpo_config(cfg)


def test_resolved_yaml_round_trips():
    cfg = parse_config(_raw())
    again = parse_config(yaml.safe_load(dump_yaml(cfg)))
    assert again == cfg


def test_yaml_on_off_reads_as_the_thinking_mode():
    # YAML 1.1 parses a bare `on`/`off` as true/false; `thinking: on` must still mean the mode.
    raw = yaml.safe_load("thinking: on\n")
    cfg = parse_config(_raw(data={"generator": "arithmetic", "thinking": raw["thinking"]}))
    assert cfg.data.thinking == "on"
    assert parse_config(_raw(data={"generator": "arithmetic", "thinking": False})).data.thinking == "off"


@pytest.mark.parametrize("path", sorted(str(p) for p in __import__("pathlib").Path("configs").glob("*.yaml")))
def test_every_shipped_config_parses(path):
    # A recipe in configs/ that no longer parses is a broken promise to users; GPU recipes are parsed, not built.
    assert load_config(path).rewards


def test_yaml_no_reads_as_the_no_strategy(tmp_path):
    # `grpo.save_strategy=no` arrives as False from YAML; TRL's IntervalStrategy has a "no" member.
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(MINIMAL))
    assert build_grpo_config(load_config(path, ["grpo.save_strategy=no"])).save_strategy == "no"
