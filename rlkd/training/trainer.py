"""RLKDTrainer: TRL's GRPOTrainer with rlkd's small hooks, and nothing copied from TRL.

TRL's trainer is ~3,400 lines and its `_generate_and_score_completions` ~600; copying either would drift from TRL
with every release. rlkd overrides only small hooks (the train sampler for curricula, the reward calculation for
online pass rates, the vLLM weight sync on CPU, checkpointing of rlkd's own state, resuming on CPU ranks), each with
a CPU test, and TRL is pinned to one minor version so an upgrade that moves a hook fails those tests loudly.
"""

from __future__ import annotations

import inspect
import json
from contextlib import ExitStack, contextmanager
from pathlib import Path

from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR
from trl import GRPOTrainer

from rlkd.config import GenerationConfig
from rlkd.generation.engine import enter_colocated_engine
from rlkd.io import atomic_write_json
from rlkd.training.checkpoints import RLKD_STATE, latest_complete_checkpoint, mark_complete, unmark
from rlkd.training.disk import disk_full_error, state_bytes, tree_bytes
from rlkd.training.distributed import accept_indexed_cpu_locations, fsdp_on_cpu
from rlkd.training.mode_metrics import ModeMetricsMixin


@contextmanager
def _completions_not_printed():
    """While TRL logs, its rich console table of completions is not printed (W&B and parquet files keep it)."""
    from trl.trainer import grpo_trainer

    printer = grpo_trainer.print_prompt_completions_sample
    grpo_trainer.print_prompt_completions_sample = lambda *a, **k: None
    try:
        yield
    finally:
        grpo_trainer.print_prompt_completions_sample = printer


class RLKDTrainer(ModeMetricsMixin, GRPOTrainer):
    """GRPOTrainer as configured by rlkd. Reward names are resolved to callables before they reach TRL (TRL
    would load a string as a Hub reward model). `curriculum` is an rlkd.training.curriculum.CurriculumRuntime (or
    None for plain TRL sampling); `generation` carries the vLLM engine options TRL's GRPOConfig has no field for
    (see rlkd.generation.engine). Build one with rlkd.training.builder.build_trainer."""

    def __init__(
        self,
        *args,
        curriculum=None,
        generation: GenerationConfig | None = None,
        completions_every: int = 0,
        **kwargs,
    ):
        reward_funcs = kwargs.get("reward_funcs")
        if reward_funcs is not None:
            funcs = reward_funcs if isinstance(reward_funcs, list) else [reward_funcs]
            if any(isinstance(f, str) for f in funcs):
                raise TypeError("RLKDTrainer takes reward callables; resolve names with rewards.get_reward(name)")
        self.curriculum = curriculum
        self.completion_tokens = 0
        self.completions_every = completions_every
        bound = inspect.signature(GRPOTrainer.__init__).bind(self, *args, **kwargs).arguments
        with ExitStack() as stack:
            gen = generation or GenerationConfig()
            cpu_vllm = enter_colocated_engine(stack, gen, bound.get("args"), bound["model"])
            stack.enter_context(fsdp_on_cpu())  # an FSDP launch shards on CPU ranks too (rlkd.training.distributed)
            super().__init__(*args, **kwargs)
        if cpu_vllm:
            from rlkd.generation.cpu_sync import CPUVLLMGeneration

            CPUVLLMGeneration.adopt(self.vllm_generation, gen.vllm_cpu_threads)

    # -- curricula (rlkd/training/curriculum.py holds the logic; these hooks only route to it) ------------------

    def _get_train_sampler(self, dataset=None):
        sampler = self.curriculum.build_sampler(self) if self.curriculum is not None else None
        return sampler if sampler is not None else super()._get_train_sampler(dataset)

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        rewards_per_func = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        if self.curriculum is not None and self.model.training:
            self.curriculum.on_rewards(self, inputs, rewards_per_func)
        return rewards_per_func

    def _generate_and_score_completions(self, inputs):
        curriculum = self.curriculum if self.model.training else None
        if curriculum is not None and curriculum.refills:
            from rlkd.training.refill import refill_batch

            return refill_batch(self, curriculum, inputs, self._generate_and_score_counted)
        output = self._generate_and_score_counted(inputs)
        if curriculum is not None:
            output = curriculum.after_scoring(self, output)
        return output

    def _generate_and_score_counted(self, inputs):
        """TRL's call, counting the completion tokens it generated: the cost metric runs are compared at
        (`completion_tokens`, cumulative over the run and its resumes; refill rounds included)."""
        output = super()._generate_and_score_completions(inputs)
        if self.model.training:
            self.completion_tokens += int(self.accelerator.gather(output["completion_mask"].sum()).sum().item())
            self._metrics["train"]["completion_tokens"] = [float(self.completion_tokens)]
        return output

    # -- checkpoints: rlkd's own state (the curriculum) beside TRL's ----------------------------------------------

    def _save_checkpoint(self, model, trial):
        # rlkd's state is written (atomically) before TRL's files and the completion marker after them all, once
        # every rank is done: a checkpoint counts as complete only with a marker matching its files
        # (rlkd.training.checkpoints), so a kill or a full disk mid-save leaves one that resume skips.
        ckpt = Path(self._get_output_dir(trial=trial)) / f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}"
        try:
            if self.args.should_save:
                unmark(ckpt)
                state = {"global_step": self.state.global_step, "completion_tokens": self.completion_tokens}
                if self.curriculum is not None:
                    state["curriculum"] = self.curriculum.state_dict()
                atomic_write_json(ckpt / RLKD_STATE, state)
            super()._save_checkpoint(model, trial)
            self.accelerator.wait_for_everyone()
            if self.args.should_save:
                mark_complete(ckpt)
        except Exception as e:
            try:
                needed = self._checkpoint_bytes(ckpt)
            except Exception:  # sizing must never hide the save's own error
                needed = 0
            full = disk_full_error(e, ckpt, needed, ckpt.name)
            if full is None:
                raise
            raise full from e

    def _checkpoint_bytes(self, ckpt: Path) -> int:
        """The size of the newest complete checkpoint before `ckpt`, else the weights and optimizer state."""
        previous = latest_complete_checkpoint(ckpt.parent)
        if previous is not None and previous != ckpt:
            return tree_bytes(previous)
        return state_bytes(self.model, self.optimizer)

    def _load_optimizer_and_scheduler(self, checkpoint):
        # Called by transformers on resume after the train dataloader (and so the curriculum sampler) exists.
        accept_indexed_cpu_locations()  # CPU ranks load the optimizer with map_location cpu:0
        super()._load_optimizer_and_scheduler(checkpoint)
        path = Path(checkpoint) / RLKD_STATE if checkpoint is not None else None
        if path is None or not path.is_file():
            return
        state = json.loads(path.read_text())
        self.completion_tokens = int(state.get("completion_tokens", 0))
        if self.curriculum is not None:
            self.curriculum.load_state_dict(state.get("curriculum"), source=path)

    def log(self, logs, start_time=None):
        if self.curriculum is not None:
            self.curriculum.log_histogram(self)
        # TRL logs its completions table at every log call when log_completions is on, and prints it too: rlkd
        # keeps the W&B table at its own interval and the console free of it
        wanted = self.args.log_completions and self.model.training
        step = self.state.global_step
        self.log_completions = bool(wanted and self.completions_every and step % self.completions_every == 0)
        with _completions_not_printed():
            super().log(logs, start_time)
