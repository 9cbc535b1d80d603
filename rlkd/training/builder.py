"""The one builder of a configured RLKDTrainer: `rlkd train`, the tests and the benchmarks all build through here.

Two steps, because `rlkd train` starts W&B between them:
- `prepare_run(cfg)` loads and checks everything a run reads (TRL's config, the rewards, the tokenizer, the LoRA
  targets, the data with the prompt-length budget, the chat template against the rewards, the pass-rate join and
  filter, then the weights), so a config mistake costs seconds and nothing has started yet; `check_inputs` is that
  minus the weights, and `rlkd validate` runs it too, so validate checks what train checks;
- `build_trainer(inputs, callbacks)` hands those to RLKDTrainer; with a `peft:` section TRL wraps the model in
  the LoRA adapter itself (GRPOTrainer's `peft_config`).

    trainer = build_trainer(prepare_run(cfg), callbacks=[MetricsJSONLCallback(cfg.output_dir)])
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from rlkd.config import RunConfig, build_grpo_config, build_peft_config
from rlkd.data.rows import RowReport
from rlkd.training.curriculum import CurriculumRuntime

logger = logging.getLogger(__name__)


@dataclass
class RunInputs:
    """Everything a GRPO run reads, loaded and checked."""

    cfg: RunConfig  # as the rewards were built from it (template_check may set format's template_prefills_think)
    args: Any  # trl.GRPOConfig
    reward_funcs: list
    model: Any
    tokenizer: Any
    eval_dataset: Any
    report: RowReport
    curriculum: CurriculumRuntime  # holds the (filtered, numbered) train dataset
    peft_config: Any = None  # peft.LoraConfig, or None for full fine-tuning

    @property
    def train_dataset(self):
        return self.curriculum.train_dataset


def prepare_run(
    cfg: RunConfig, *, args=None, curriculum_cls: type[CurriculumRuntime] = CurriculumRuntime
) -> RunInputs:
    """Load and check the run's inputs. `args` is the run's trl.GRPOConfig when the caller built it already;
    `curriculum_cls` lets a test record what the curriculum sees. The weights load last: every check that can
    fail runs before the slowest step."""
    from rlkd.model import load_policy

    args = args if args is not None else build_grpo_config(cfg)
    checked = check_inputs(cfg, curriculum_cls)
    model, tokenizer = load_policy(cfg.model, tokenizer=checked.tokenizer)
    return RunInputs(
        checked.cfg, args, checked.reward_funcs, model, tokenizer, checked.eval_dataset, checked.report,
        checked.curriculum, checked.peft_config,
    )  # fmt: skip


@dataclass
class CheckedInputs:
    """What `check_inputs` loaded: the config as the rewards are built from it (template facts applied)."""

    cfg: RunConfig
    reward_funcs: list
    tokenizer: Any
    model_config: Any
    train_dataset: Any
    eval_dataset: Any
    report: RowReport
    curriculum: CurriculumRuntime
    peft_config: Any  # peft.LoraConfig, or None for full fine-tuning


def check_inputs(cfg: RunConfig, curriculum_cls: type[CurriculumRuntime] = CurriculumRuntime) -> CheckedInputs:
    """Every check of a run's inputs short of loading the weights, for `rlkd train` (prepare_run) and
    `rlkd validate` alike: the rewards resolve, the data loads and fits the context, the chat template and think
    tags suit the rewards (rlkd.training.template_check), the pass rates belong to this data and the curriculum's
    reward is among the rewards (CurriculumRuntime.from_config)."""
    from rlkd.data.datasets import load_training_data
    from rlkd.model import load_model_config, load_tokenizer
    from rlkd.training.lora import check_targets_on_meta
    from rlkd.training.rewards import close_rewards, resolve_rewards
    from rlkd.training.template_check import check_chat_template

    close_rewards(resolve_rewards(cfg))  # names, plug-ins and args fail here, before anything loads
    tokenizer, model_config = load_tokenizer(cfg.model), load_model_config(cfg.model)
    peft_config = build_peft_config(cfg)
    if peft_config is not None:
        check_targets_on_meta(model_config, peft_config, cfg.model.trust_remote_code)
    report = RowReport()
    train_ds, eval_ds = load_training_data(cfg, tokenizer, model_config, report)
    if report.skipped:
        logger.warning(
            "skipped %d of %d rows (data.on_bad_rows: skip); first: %s",
            report.skipped,
            report.total,
            "; ".join(report.reasons[:3]),
        )
    cfg = check_chat_template(cfg, tokenizer, train_ds)
    reward_funcs = resolve_rewards(cfg)
    curriculum = curriculum_cls.from_config(cfg, train_ds)  # joins pass rates and filters
    return CheckedInputs(
        cfg, reward_funcs, tokenizer, model_config, train_ds, eval_ds, report, curriculum, peft_config
    )


def build_trainer(inputs: RunInputs, callbacks: list | tuple = ()):
    """RLKDTrainer over the prepared inputs."""
    from rlkd.console import GRPO_NUMBERS, quiet_trainer
    from rlkd.training.tracking import ThreadPolicyCallback
    from rlkd.training.trainer import RLKDTrainer

    args = inputs.args
    trainer = RLKDTrainer(
        model=inputs.model,
        reward_funcs=inputs.reward_funcs,
        args=args,
        train_dataset=inputs.train_dataset,
        eval_dataset=inputs.eval_dataset if args.eval_strategy != "no" else None,
        processing_class=inputs.tokenizer,
        callbacks=[*callbacks, ThreadPolicyCallback()],
        peft_config=inputs.peft_config,
        curriculum=inputs.curriculum,
        generation=inputs.cfg.generation,
        completions_every=inputs.cfg.wandb.completions_every,
    )
    quiet_trainer(trainer, "grpo", GRPO_NUMBERS)
    return trainer
