"""`rlkd train`: build everything a GRPO run needs from the config, then hand it to RLKDTrainer.

Order matters for users: everything that can be wrong in the config (GRPO settings, reward names, model path,
dataset) is checked before W&B starts or a single step runs, so bad input costs seconds, not a run.
"""

from __future__ import annotations

import logging
from pathlib import Path

from rlkd.config import RunConfig, build_grpo_config, dump_yaml, to_dict
from rlkd.io import atomic_write_text

logger = logging.getLogger(__name__)

RESOLVED_CONFIG = "config.resolved.yaml"


def resolve_rewards(cfg: RunConfig) -> list:
    """Reward callables in config order (TRL pairs them with `reward_weights` by position)."""
    from rewards import get_reward, import_plugins

    import_plugins(cfg.plugins)
    return [get_reward(spec.name, **spec.args) for spec in cfg.rewards]


def run_training(cfg: RunConfig) -> Path:
    """Train per `cfg`; returns the output dir holding checkpoints, the final model and the run records."""
    from rlkd.data import load_splits
    from rlkd.model import load_policy
    from rlkd.tracking import MetricsJSONLCallback, start_wandb
    from rlkd.trainer import RLKDTrainer

    args = build_grpo_config(cfg)
    out = Path(args.output_dir)
    reward_funcs = resolve_rewards(cfg)
    model, tokenizer = load_policy(cfg.model)
    train_ds, eval_ds = load_splits(cfg.data)

    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / RESOLVED_CONFIG, dump_yaml(cfg))
    run = start_wandb(cfg.wandb, out, to_dict(cfg))
    try:
        trainer = RLKDTrainer(
            model=model,
            reward_funcs=reward_funcs,
            args=args,
            train_dataset=train_ds,
            eval_dataset=eval_ds if args.eval_strategy != "no" else None,
            processing_class=tokenizer,
            callbacks=[MetricsJSONLCallback(out)],
            generation=cfg.generation,
        )
        trainer.train()
        trainer.save_model(str(out))
    finally:
        if run is not None:
            run.finish()
    logger.info("run finished: %s", out)
    return out
