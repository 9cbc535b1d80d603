"""`rlkd train`: build everything a GRPO run needs from the config, then hand it to RLKDTrainer.

Order matters for users: everything that can be wrong in the config (GRPO settings, reward names, model path,
dataset rows, prompt lengths, an output dir that already holds a run) is checked before W&B starts or a single
step runs, so bad input costs seconds, not a run. A run that dies later names the checkpoint to resume from.
"""

from __future__ import annotations

import logging
from pathlib import Path

from rlkd.config import RunConfig, build_grpo_config, dump_yaml, to_dict
from rlkd.io import atomic_write_json, atomic_write_text

logger = logging.getLogger(__name__)

RESOLVED_CONFIG = "config.resolved.yaml"
DATA_REPORT = "data_report.json"


class TrainingFailed(RuntimeError):
    """Training stopped with an error after it started; the message names the checkpoint to resume from."""


def resolve_rewards(cfg: RunConfig) -> list:
    """Reward callables in config order (TRL pairs them with `reward_weights` by position)."""
    from rewards import get_reward, import_plugins

    import_plugins(cfg.plugins)
    return [get_reward(spec.name, batch_timeout=spec.batch_timeout, **spec.args) for spec in cfg.rewards]


def load_run_inputs(cfg: RunConfig):
    """Everything a run reads, checked: (grpo args, reward funcs, model, tokenizer, train, eval, row report)."""
    from rlkd.data import load_splits
    from rlkd.datacheck import RowReport, length_budget
    from rlkd.model import load_policy

    args = build_grpo_config(cfg)
    reward_funcs = resolve_rewards(cfg)
    model, tokenizer = load_policy(cfg.model)
    report = RowReport()
    budget = length_budget(tokenizer, model.config, cfg.generation.max_completion_length)
    train_ds, eval_ds = load_splits(cfg.data, report, budget)
    if report.skipped:
        logger.warning(
            "skipped %d of %d rows (data.on_bad_rows: skip); first: %s",
            report.skipped,
            report.total,
            "; ".join(report.reasons[:3]),
        )
    return args, reward_funcs, model, tokenizer, train_ds, eval_ds, report


def run_training(cfg: RunConfig, resume: bool = False, config_path: str | None = None) -> Path:
    """Train per `cfg`; returns the output dir holding checkpoints, the final model and the run records.

    With `resume`, continue from the latest complete checkpoint in the output dir (model, optimizer, scheduler,
    RNG, rlkd state, the same W&B run); without it, an output dir that already holds checkpoints is an error.
    """
    from rlkd.curriculum import CurriculumRuntime
    from rlkd.resume import checkpoint_step, prepare_output_dir, read_run_state, truncate_metrics, write_run_state
    from rlkd.tracking import METRICS_FILE, MetricsJSONLCallback, start_wandb
    from rlkd.trainer import RLKDTrainer

    out = cfg.output_dir
    checkpoint = prepare_output_dir(out, resume)
    args, reward_funcs, model, tokenizer, train_ds, eval_ds, report = load_run_inputs(cfg)
    curriculum = CurriculumRuntime.from_config(cfg, train_ds)  # joins pass rates and filters: before W&B starts

    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / RESOLVED_CONFIG, dump_yaml(cfg))
    atomic_write_json(out / DATA_REPORT, report.as_dict())
    if checkpoint is not None:
        truncate_metrics(out / METRICS_FILE, checkpoint_step(checkpoint))
        logger.info("resuming from %s", checkpoint)
    run = start_wandb(cfg.wandb, out, to_dict(cfg), run_id=read_run_state(out).get("wandb_run_id") if resume else None)
    if run is not None:
        write_run_state(out, {"wandb_run_id": run.id})
    try:
        trainer = RLKDTrainer(
            model=model,
            reward_funcs=reward_funcs,
            args=args,
            train_dataset=curriculum.train_dataset,
            eval_dataset=eval_ds if args.eval_strategy != "no" else None,
            processing_class=tokenizer,
            callbacks=[MetricsJSONLCallback(out)],
            curriculum=curriculum,
            generation=cfg.generation,
        )
        try:
            trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
        except Exception as e:
            raise TrainingFailed(_failure_message(e, trainer, out, config_path)) from e
        trainer.save_model(str(out))
    finally:
        if run is not None:
            run.finish()
    logger.info("run finished: %s", out)
    return out


def _failure_message(error: Exception, trainer, out: Path, config_path: str | None) -> str:
    from rlkd.resume import latest_complete_checkpoint

    ckpt = latest_complete_checkpoint(out)
    where = f"the latest checkpoint is {ckpt}" if ckpt else "no checkpoint was saved yet"
    cmd = f"rlkd train {config_path or 'CONFIG'} --resume"
    first = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return (
        f"training stopped at step {trainer.state.global_step}: {type(error).__name__}: {first}; {where}; "
        f"resume with `{cmd}`"
    )
