"""`rlkd validate CONFIG`: everything `rlkd train` checks before it trains, without training.

Checks the config (incl. TRL's own GRPOConfig checks), that the model's tokenizer and config load (weights are not
loaded: that can take minutes for a real student), that LoRA targets name modules of the model (built on the meta
device: no memory, no weights), that the dataset loads and its rows are well-formed and fit the context, that
reward names resolve, and that the dataset has the columns each reward needs.
"""

from __future__ import annotations

import inspect

from rlkd.config import ConfigError, build_grpo_config, build_peft_config, load_config

# Keyword arguments TRL passes to every reward itself; anything else a reward requires must be a dataset column.
TRL_REWARD_KWARGS = {
    "prompts",
    "completions",
    "completion_ids",
    "trainer_state",
    "log_extra",
    "log_metric",
    "environments",
}


def required_columns(reward) -> list[str]:
    """Parameters a reward requires that TRL does not supply: they must come from dataset columns."""
    try:
        params = inspect.signature(reward).parameters.values()
    except (TypeError, ValueError):
        return []
    return [
        p.name
        for p in params
        if p.default is inspect.Parameter.empty
        and p.name not in TRL_REWARD_KWARGS
        and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]


def validate(config: str, overrides: list[str] | tuple[str, ...] = ()) -> str:
    """Return a short report; raise ConfigError (or RewardError) on the first problem."""
    from rlkd.data.datasets import load_training_data
    from rlkd.data.rows import RowReport, length_budget
    from rlkd.model import load_model_config, load_tokenizer
    from rlkd.training.rewards import resolve_rewards

    cfg = load_config(config, overrides)
    build_grpo_config(cfg)
    rewards = resolve_rewards(cfg)
    m = cfg.model
    tokenizer, model_config = load_tokenizer(m), load_model_config(m)
    peft_config = build_peft_config(cfg)
    if peft_config is not None:
        check_lora_targets(model_config, peft_config, m.trust_remote_code)
    report = RowReport()
    train, evals = load_training_data(cfg, tokenizer, model_config, report)
    for spec, fn in zip(cfg.rewards, rewards):
        missing = [c for c in required_columns(fn) if c not in train.column_names]
        if missing:
            raise ConfigError(
                f"reward '{spec.name}' needs dataset column(s) {missing}, but the dataset has "
                f"{train.column_names}; set data.solution_column or add the column"
            )
    budget = length_budget(tokenizer, model_config, cfg.generation.max_completion_length)
    context = budget.context if budget else "?"
    lines = [
        f"config ok: {config}",
        f"model ok: {m.name_or_path} ({model_config.model_type}, context {context}, vocab {len(tokenizer)})",
        f"data ok: {len(train)} train rows"
        + (f", {len(evals)} eval rows" if evals is not None else "")
        + (f"; {report.skipped} malformed rows skipped" if report.skipped else ""),
        "rewards ok: " + ", ".join(f"{s.name} (weight {s.weight})" for s in cfg.rewards),
    ]
    if cfg.peft is not None:
        lines.append(f"peft ok: LoRA r={cfg.peft.r} on {cfg.peft.target_modules}")
    return "\n".join(lines)


def check_lora_targets(model_config, peft_config, trust_remote_code: bool) -> None:
    """The LoRA target check of `rlkd train`, on the model's modules built on the meta device (no weights)."""
    import torch
    from transformers import AutoModelForCausalLM

    from rlkd.training.lora import check_targets

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(model_config, trust_remote_code=trust_remote_code)
    check_targets(model, peft_config)
