"""`rlkd train`: build everything a GRPO run needs from the config, then hand it to RLKDTrainer.

Order matters for users: everything that can be wrong in the config (GRPO settings, reward names, model path,
LoRA targets, dataset rows, prompt lengths, an output dir that already holds a run or is in use, a resume with a
changed config) is checked before W&B starts or a single step runs, so bad input costs seconds, not a run. A run
that dies later, or is stopped by SIGTERM / Ctrl-C, names the checkpoint and the exact command to resume from.

Under a multi-process launch every rank runs this, and the main process alone writes the run's records (W&B,
rlkd_run.json, the resolved config, the data report; rlkd.training.distributed), so a run has one of each.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from rlkd.config import RunConfig, build_grpo_config, dump_yaml, to_dict
from rlkd.errors import first_line
from rlkd.io import atomic_write_json, atomic_write_text

logger = logging.getLogger(__name__)

RESOLVED_CONFIG = "config.resolved.yaml"
DATA_REPORT = "data_report.json"


class TrainingFailed(RuntimeError):
    """Training stopped with an error after it started; the message names the checkpoint to resume from."""


def run_training(
    cfg: RunConfig,
    resume: bool = False,
    config_path: str | None = None,
    overrides: Sequence[str] = (),
    force_config_change: bool = False,
    restart: bool = False,
) -> Path:
    """Train per `cfg`; returns the output dir holding checkpoints, the final model and the run records.

    With `resume`, continue from the newest complete checkpoint in the output dir (model, optimizer, scheduler,
    RNG, rlkd state, the same W&B run) if the config matches the run's saved one (rlkd.training.run_guard); a run
    that already reached max_steps is left as it is. With `restart`, start over in an output dir that holds no
    complete checkpoint. Without either, an output dir that holds a run is an error
    (rlkd.training.checkpoints.plan_run). The output dir is locked against a second writer for the whole run.
    SIGTERM / Ctrl-C save a checkpoint at the next step and raise `Preempted`.
    """
    from rlkd.training.preemption import StopOnSignal, stop_signals_handled
    from rlkd.training.run_guard import lock_for_this_rank, resume_command

    stop = StopOnSignal()
    with stop_signals_handled(stop), lock_for_this_rank(cfg.output_dir):
        return _train(cfg, resume, restart, resume_command(config_path, overrides), force_config_change, stop)


def _train(cfg: RunConfig, resume: bool, restart: bool, resume_cmd: str, force_config_change: bool, stop) -> Path:
    from rlkd.training.builder import build_trainer, prepare_run
    from rlkd.training.checkpoints import (
        METRICS_FILE,
        RunPlan,
        checkpoint_step,
        finalize_from_checkpoint,
        plan_run,
        read_run_state,
        truncate_metrics,
        update_run_state,
    )
    from rlkd.training.distributed import gather_final_model, is_main, quiet_replicas
    from rlkd.training.preemption import Preempted, stop_message
    from rlkd.training.run_guard import check_resume_config
    from rlkd.training.tracking import MetricsJSONLCallback, finish_wandb, start_wandb

    args = build_grpo_config(cfg)  # TRL's own cross-field checks, before anything heavy is loaded
    quiet_replicas(args)
    main = is_main(args)  # under a multi-process launch, the one process that writes the run's records
    out = cfg.output_dir
    # --restart empties the records: the main process does it, the others start as on a fresh dir
    plan = plan_run(out, resume, restart, args.max_steps) if main or not restart else RunPlan()
    if plan.checkpoint is not None:
        check_resume_config(out, cfg, RESOLVED_CONFIG, checkpoint_step(plan.checkpoint), force_config_change)
    if plan.finalize and main:
        finalize_from_checkpoint(plan.checkpoint, out)
        update_run_state(out, finished_step=checkpoint_step(plan.checkpoint))
    if plan.finished is not None:  # nothing is written: the final model and the records stay as they are
        logger.warning(plan.finished)
        return out
    checkpoint = plan.checkpoint
    inputs = prepare_run(cfg, args=args)  # every input checked: before W&B starts

    out.mkdir(parents=True, exist_ok=True)
    step = checkpoint_step(checkpoint) if checkpoint is not None else 0
    run = None
    if main:
        atomic_write_text(out / RESOLVED_CONFIG, dump_yaml(cfg))
        atomic_write_json(out / DATA_REPORT, inputs.report.as_dict())
        if checkpoint is not None:
            truncate_metrics(out / METRICS_FILE, step)
        run_id = read_run_state(out).get("wandb_run_id") if checkpoint is not None else None
        run = start_wandb(cfg.wandb, out, to_dict(cfg), run_id=run_id, resume_step=step)
        if run is not None:
            update_run_state(out, wandb_run_id=run.id)
    if checkpoint is not None:
        logger.info("resuming from %s", checkpoint)
    try:
        trainer = build_trainer(inputs, callbacks=[MetricsJSONLCallback(out), stop])
        try:
            trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
            if stop.stopped_at is not None and trainer.state.global_step < trainer.state.max_steps:
                from rlkd.training.checkpoints import latest_complete_checkpoint

                raise Preempted(stop_message(stop, latest_complete_checkpoint(out), resume_cmd), stop.exit_code)
            gather_final_model(trainer)  # sharded FSDP checkpoints, but one full final model
            trainer.save_model(str(out))  # every rank calls it (FSDP gathers shards); the main process writes
        except KeyboardInterrupt:  # a second Ctrl-C: no waiting for the step
            raise Preempted(_failure_message(None, trainer, out, resume_cmd), 130) from None
        except Preempted:
            raise
        except Exception as e:
            raise TrainingFailed(_failure_message(e, trainer, out, resume_cmd)) from e
        if main:
            update_run_state(out, finished_step=trainer.state.global_step)
    finally:
        if run is not None:
            finish_wandb(run, out)
    logger.info("run finished: %s", out)
    return out


def _failure_message(error: Exception | None, trainer, out: Path, resume_cmd: str) -> str:
    from rlkd.training.checkpoints import latest_complete_checkpoint
    from rlkd.training.disk import describe

    ckpt = latest_complete_checkpoint(out)
    where = f"the latest checkpoint is {ckpt}" if ckpt else "no checkpoint was saved yet"
    if error is None:
        why = "interrupted by a second Ctrl-C"
    else:
        why = describe(error, out) or f"{type(error).__name__}: {first_line(error)}"
    return f"training stopped at step {trainer.state.global_step}: {why}; {where}; resume with `{resume_cmd}`"
