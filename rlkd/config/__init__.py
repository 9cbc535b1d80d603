"""Run configuration: one YAML file per run → frozen, typed dataclasses, and the bridge to TRL's config classes.

    schema.py      the sections (model, data, rewards, curriculum, generation, ...) and their value checks
    loader.py      YAML → RunConfig with dotted overrides
    strict.py      the strict dataclass builder and value checker behind every section
    trl_bridge.py  `grpo:` → trl.GRPOConfig, `sft.args` → trl.SFTConfig, `peft:` → peft.LoraConfig, each checked
                   against the class's annotations

Usage:
    cfg = load_config("configs/tiny-cpu.yaml", ["grpo.max_steps=4"])
    args = build_grpo_config(cfg)   # the trl.GRPOConfig, validated by TRL itself
"""

from rlkd.config.loader import apply_override, dump_yaml, load_config, parse_config, to_dict
from rlkd.config.schema import (
    CurriculumConfig,
    DataConfig,
    EvalConfig,
    GenerationConfig,
    ModelConfig,
    PassRateConfig,
    PeftConfig,
    RewardSpec,
    RunConfig,
    SFTConfig,
    WandbConfig,
)
from rlkd.config.trl_bridge import (
    OWNED_GRPO_KEYS,
    build_grpo_config,
    build_peft_config,
    build_sft_config,
    grpo_kwargs,
    sft_kwargs,
    sft_output_dir,
)
from rlkd.errors import ConfigError

__all__ = [
    "OWNED_GRPO_KEYS",
    "ConfigError",
    "CurriculumConfig",
    "DataConfig",
    "EvalConfig",
    "GenerationConfig",
    "ModelConfig",
    "PassRateConfig",
    "PeftConfig",
    "RewardSpec",
    "RunConfig",
    "SFTConfig",
    "WandbConfig",
    "apply_override",
    "build_grpo_config",
    "build_peft_config",
    "build_sft_config",
    "dump_yaml",
    "grpo_kwargs",
    "load_config",
    "parse_config",
    "sft_kwargs",
    "sft_output_dir",
    "to_dict",
]
