"""`rlkd sft CONFIG`: the SFT / distillation stage before RL, on TRL's SFTTrainer.

The student learns the teacher's responses as prompt/completion chat pairs (rlkd.data.traces), so the loss falls on
the completion only (TRL's completion_only_loss) and the prompts are the very chat prompts GRPO will sample from
(same system mode line, same template).

`sft.args` goes to trl.SFTConfig through rlkd.config.trl_bridge, checked against its annotations first (as `grpo:`
is against GRPOConfig's); W&B settings come from the `wandb:` section. With `sft.teacher` set, DistillSFTTrainer
adds logit distillation. With a `peft:` section the student trains a LoRA adapter, as in GRPO.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from rlkd.config import ConfigError, RunConfig, build_sft_config
from rlkd.io import atomic_write_text

logger = logging.getLogger(__name__)


def load_teacher(cfg: RunConfig, tokenizer):
    """The distillation teacher; it must share the student's vocabulary, token for token."""
    from rlkd.model import load_policy

    teacher, teacher_tok = load_policy(dataclasses.replace(cfg.model, name_or_path=cfg.sft.teacher), "sft.teacher")
    if teacher_tok.get_vocab() != tokenizer.get_vocab():
        raise ConfigError(
            f"sft.teacher '{cfg.sft.teacher}' has a different tokenizer from the student; logit "
            "distillation compares next-token distributions, so both need the same vocabulary"
        )
    return teacher


def run_sft(cfg: RunConfig) -> Path:
    """SFT (or distil) the student per `cfg`; returns the directory holding the trained model and tokenizer."""
    from trl import SFTTrainer

    from rlkd.config import build_peft_config, dump_yaml, to_dict
    from rlkd.console import SFT_NUMBERS, quiet_trainer
    from rlkd.data.traces import build_sft_dataset
    from rlkd.model import load_policy
    from rlkd.training.distributed import is_main, quiet_replicas
    from rlkd.training.lora import check_targets
    from rlkd.training.tracking import MetricsJSONLCallback, ThreadPolicyCallback, start_wandb

    args = build_sft_config(cfg)  # TRL's own checks, before the model and data are loaded
    quiet_replicas(args)
    main = is_main(args)
    out = Path(args.output_dir)
    model, tokenizer = load_policy(cfg.model)
    peft_config = build_peft_config(cfg)  # the same `peft:` section as GRPO: SFTTrainer wraps the model itself
    if peft_config is not None:
        check_targets(model, peft_config)
    dataset = build_sft_dataset(cfg)
    extra = {}
    trainer_cls = SFTTrainer
    if cfg.sft.teacher is not None and cfg.sft.alpha < 1.0:
        from rlkd.training.distill import DistillSFTTrainer

        trainer_cls = DistillSFTTrainer
        extra = dict(teacher_model=load_teacher(cfg, tokenizer), alpha=cfg.sft.alpha, temperature=cfg.sft.temperature)
    out.mkdir(parents=True, exist_ok=True)
    run = None
    if main:  # one record per run under a multi-process launch (rlkd.training.distributed)
        atomic_write_text(out / "config.resolved.yaml", dump_yaml(cfg))
        run = start_wandb(dataclasses.replace(cfg.wandb, tags=[*cfg.wandb.tags, "sft"]), out, to_dict(cfg))
    try:
        trainer = trainer_cls(
            model=model,
            args=args,
            train_dataset=dataset,
            processing_class=tokenizer,
            callbacks=[MetricsJSONLCallback(out), ThreadPolicyCallback()],
            peft_config=peft_config,
            **extra,
        )
        quiet_trainer(trainer, "sft", SFT_NUMBERS)
        trainer.train()
        trainer.save_model(str(out))  # with LoRA, the adapter: `rlkd export OUT --merge` makes a full model
        if main:
            tokenizer.save_pretrained(str(out))
    finally:
        if run is not None:
            run.finish()
    logger.info("SFT finished: %s (%d examples)", out, len(dataset))
    return out
