"""The one builder of a configured RLKDTrainer: `rlkd train`, the tests and the benchmarks all build through here.

Two steps, because `rlkd train` starts W&B between them:
- `prepare_run(cfg)` loads and checks everything a run reads (TRL's config, the rewards, the model, the LoRA
  targets, the data with the prompt-length budget, the pass-rate join and filter), so a config mistake costs
  seconds and nothing has started yet;
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

    cfg: RunConfig
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
    `curriculum_cls` lets a test record what the curriculum sees."""
    from rlkd.data.datasets import load_training_data
    from rlkd.model import load_policy
    from rlkd.training.lora import check_targets
    from rlkd.training.rewards import resolve_rewards

    args = args if args is not None else build_grpo_config(cfg)
    peft_config = build_peft_config(cfg)
    reward_funcs = resolve_rewards(cfg)
    model, tokenizer = load_policy(cfg.model)
    if peft_config is not None:
        check_targets(model, peft_config)
    report = RowReport()
    train_ds, eval_ds = load_training_data(cfg, tokenizer, model.config, report)
    if report.skipped:
        logger.warning(
            "skipped %d of %d rows (data.on_bad_rows: skip); first: %s",
            report.skipped,
            report.total,
            "; ".join(report.reasons[:3]),
        )
    curriculum = curriculum_cls.from_config(cfg, train_ds)  # joins pass rates and filters
    return RunInputs(cfg, args, reward_funcs, model, tokenizer, eval_ds, report, curriculum, peft_config)


def build_trainer(inputs: RunInputs, callbacks: list | tuple = ()):
    """RLKDTrainer over the prepared inputs."""
    from rlkd.training.trainer import RLKDTrainer

    args = inputs.args
    return RLKDTrainer(
        model=inputs.model,
        reward_funcs=inputs.reward_funcs,
        args=args,
        train_dataset=inputs.train_dataset,
        eval_dataset=inputs.eval_dataset if args.eval_strategy != "no" else None,
        processing_class=inputs.tokenizer,
        callbacks=list(callbacks),
        peft_config=inputs.peft_config,
        curriculum=inputs.curriculum,
        generation=inputs.cfg.generation,
    )
