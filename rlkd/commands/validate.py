"""`rlkd validate CONFIG [--resume]`: everything `rlkd train` checks before it trains, without training.

The same checks through the same code (rlkd.training.builder.check_inputs, rlkd.training.run_guard): the config
(incl. TRL's own GRPOConfig checks); the output dir (in use by a live run, already holding checkpoints without
--resume, a resume whose config differs from the run's); that the model's tokenizer and config load (weights are
not loaded: that can take minutes for a real student); that the dataset loads, its rows are well-formed, keep
their reasoning modes and fit the context; that reward names resolve and the dataset has the columns each reward
needs; the chat template and think tags against the rewards; the pass-rate file against the data and the
curriculum's reward against the rewards. Nothing is written. LoRA targets must name modules of the model
(built on the meta device: no memory, no weights).
"""

from __future__ import annotations

import inspect

from rlkd.config import ConfigError, build_grpo_config, load_config

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


def validate(
    config: str, overrides: list[str] | tuple[str, ...] = (), resume: bool = False, force_config_change: bool = False
) -> str:
    """Return a short report; raise ConfigError (or RewardError) on the first problem."""
    from rlkd.commands.train import RESOLVED_CONFIG
    from rlkd.data.rows import length_budget
    from rlkd.training.builder import check_inputs
    from rlkd.training.checkpoints import checkpoint_step, plan_run
    from rlkd.training.rewards import close_rewards
    from rlkd.training.run_guard import check_not_locked, check_resume_config

    cfg = load_config(config, overrides)
    build_grpo_config(cfg)
    out = cfg.output_dir
    check_not_locked(out)
    checkpoint = plan_run(out, resume, restart=False, max_steps=build_grpo_config(cfg).max_steps).checkpoint
    forced = {}
    if checkpoint is not None:
        step = checkpoint_step(checkpoint)
        forced = check_resume_config(out, cfg, RESOLVED_CONFIG, step, force_config_change, record=False)
    m = cfg.model
    checked = check_inputs(cfg)
    close_rewards(checked.reward_funcs)
    tokenizer, model_config = checked.tokenizer, checked.model_config
    train, evals, report = checked.train_dataset, checked.eval_dataset, checked.report
    for spec, fn in zip(cfg.rewards, checked.reward_funcs):
        missing = [c for c in required_columns(fn) if c not in train.column_names]
        if missing:
            raise ConfigError(
                f"reward '{spec.name}' needs dataset column(s) {missing}, but the dataset has "
                f"{train.column_names}; set data.solution_column or add the column"
            )
    budget = length_budget(tokenizer, model_config, cfg.generation.max_completion_length)
    context = budget.context if budget else "?"
    prefill = [s.args.get("template_prefills_think") for s in checked.cfg.rewards if s.name == "format"]
    lines = [
        f"config ok: {config}",
        f"model ok: {m.name_or_path} ({model_config.model_type}, context {context}, vocab {len(tokenizer)})",
        f"data ok: {len(train)} train rows"
        + (f", {len(evals)} eval rows" if evals is not None else "")
        + (f" ({report.eval_overlap} also in train)" if report.eval_overlap else "")
        + (f"; {report.skipped} malformed rows skipped" if report.skipped else ""),
        "rewards ok: " + ", ".join(f"{s.name} (weight {s.weight})" for s in cfg.rewards),
        "chat template ok"
        + ("; it opens <think> itself: format scores with template_prefills_think: true" if any(prefill) else ""),
        f"output dir ok: {out}"
        + (f" (resumes from {checkpoint.name})" if checkpoint is not None else "")
        + (f"; --force-config-change accepts {sorted(forced)}" if forced else ""),
    ]
    if cfg.peft is not None:
        lines.append(f"peft ok: LoRA r={cfg.peft.r} on {cfg.peft.target_modules}")
    return "\n".join(lines)
