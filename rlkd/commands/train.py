"""`rlkd train`: build everything a GRPO run needs from the config, then hand it to RLKDTrainer.

Order matters for users: everything that can be wrong in the config (GRPO settings, reward names, model path,
dataset rows, prompt lengths, an output dir that already holds a run) is checked before W&B starts or a single
step runs, so bad input costs seconds, not a run. A run that dies later names the checkpoint to resume from.
"""

from __future__ import annotations

import logging
from pathlib import Path

from rlkd.config import RunConfig, build_grpo_config, dump_yaml, to_dict
from rlkd.errors import first_line
from rlkd.io import atomic_write_json, atomic_write_text

logger = logging.getLogger(__name__)

RESOLVED_CONFIG = "config.resolved.yaml"
DATA_REPORT = "data_report.json"


class TrainingFailed(RuntimeError):
    """Training stopped with an error after it started; the message names the checkpoint to resume from."""


def run_training(cfg: RunConfig, resume: bool = False, config_path: str | None = None, restart: bool = False) -> Path:
    """Train per `cfg`; returns the output dir holding checkpoints, the final model and the run records.

    With `resume`, continue from the newest complete checkpoint in the output dir (model, optimizer, scheduler,
    RNG, rlkd state, the same W&B run); a run that already reached max_steps is left as it is. With `restart`,
    start over in an output dir that holds no complete checkpoint. Without either, an output dir that holds a run
    is an error (rlkd.training.checkpoints.plan_run).
    """
    from rlkd.training.builder import build_trainer, prepare_run
    from rlkd.training.checkpoints import (
        METRICS_FILE,
        checkpoint_step,
        finalize_from_checkpoint,
        plan_run,
        read_run_state,
        truncate_metrics,
        update_run_state,
    )
    from rlkd.training.tracking import MetricsJSONLCallback, finish_wandb, start_wandb

    args = build_grpo_config(cfg)  # TRL's own cross-field checks, before anything heavy is loaded
    out = cfg.output_dir
    plan = plan_run(out, resume, restart, args.max_steps)
    if plan.finalize:
        finalize_from_checkpoint(plan.checkpoint, out)
        update_run_state(out, finished_step=checkpoint_step(plan.checkpoint))
    if plan.finished is not None:  # nothing is written: the final model and the records stay as they are
        logger.warning(plan.finished)
        return out
    checkpoint = plan.checkpoint
    inputs = prepare_run(cfg, args=args)  # every input checked: before W&B starts

    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / RESOLVED_CONFIG, dump_yaml(cfg))
    atomic_write_json(out / DATA_REPORT, inputs.report.as_dict())
    step = checkpoint_step(checkpoint) if checkpoint is not None else 0
    if checkpoint is not None:
        truncate_metrics(out / METRICS_FILE, step)
        logger.info("resuming from %s", checkpoint)
    run_id = read_run_state(out).get("wandb_run_id") if checkpoint is not None else None
    run = start_wandb(cfg.wandb, out, to_dict(cfg), run_id=run_id, resume_step=step)
    if run is not None:
        update_run_state(out, wandb_run_id=run.id)
    try:
        trainer = build_trainer(inputs, callbacks=[MetricsJSONLCallback(out)])
        try:
            trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
            trainer.save_model(str(out))
        except Exception as e:
            raise TrainingFailed(_failure_message(e, trainer, out, config_path)) from e
        update_run_state(out, finished_step=trainer.state.global_step)
    finally:
        if run is not None:
            finish_wandb(run, out)
    logger.info("run finished: %s", out)
    return out


def _failure_message(error: Exception, trainer, out: Path, config_path: str | None) -> str:
    from rlkd.training.checkpoints import latest_complete_checkpoint
    from rlkd.training.disk import describe

    ckpt = latest_complete_checkpoint(out)
    where = f"the latest checkpoint is {ckpt}" if ckpt else "no checkpoint was saved yet"
    cmd = f"rlkd train {config_path or 'CONFIG'} --resume"
    what = describe(error, out) or f"{type(error).__name__}: {first_line(error)}"
    return f"training stopped at step {trainer.state.global_step}: {what}; {where}; resume with `{cmd}`"
