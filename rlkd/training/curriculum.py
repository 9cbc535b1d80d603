"""Curricula in a training run: the glue between the config, the pure samplers in curricula/, and RLKDTrainer.

`CurriculumRuntime.from_config` runs before the trainer exists (so config mistakes cost seconds): it joins the
pass-rate file to the train split by prompt, applies the pass-rate filter, and numbers the rows it keeps. The
trainer then calls it from its small hooks:

- `build_sampler` (from `_get_train_sampler`): the curriculum wrapped in CurriculumSampler, or None for TRL's own
  RepeatSampler (`uniform` without pass rates: plain TRL);
- `on_rewards` (from `_calculate_rewards`): the gathered accuracy column, identical on every rank, updates the
  pass-rate table and the curriculum, and gives the batch's metrics;
- `after_scoring` (from `_generate_and_score_completions`): dynamic sampling `mask`, i.e. the groups whose accuracy
  is all 0 or all 1 get zero advantage and no tokens in the loss (nor in its token normaliser); with `refill` the
  trainer hands the whole call to rlkd.training.refill, which asks this runtime for extra prompts (`extra_prompts`)
  and for the zero-variance groups of each round (`take_zero_variance`);
- `state_dict` / `load_state_dict` (from `_save_checkpoint` / `_load_optimizer_and_scheduler`): the sampler's and
  table's state, saved in each checkpoint's rlkd_state.json;
- `log_histogram` (from `log`): the table's pass rates as a W&B histogram.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from curricula import (
    CurriculumError,
    GaussianCurriculum,
    OnlineCurriculum,
    PassRateTable,
    StratifiedCurriculum,
    UniformCurriculum,
    group_stats,
    pass_rate_filter,
)
from rlkd.config import ConfigError, CurriculumConfig, RunConfig
from rlkd.data.passrates import join_pass_rates, load_pass_rates
from rlkd.training.sampler import CurriculumSampler

logger = logging.getLogger(__name__)

INDEX_COLUMN = "curriculum_index"  # the row's position in the (filtered) train set, to key observations
PLAN_METRICS = ("target_mean", "batch_estimate_mean", "skipped_prompts")  # the chunk's plan, logged when it is scored
ONLINE_LEVELS = 8  # online estimates are continuous: group them in steps of 1/8, the resolution of 8 samples


class CurriculumRuntime:
    def __init__(self, cfg: CurriculumConfig, train_dataset, pass_rates: np.ndarray | None, reward_index: int | None):
        self.cfg = cfg
        self.train_dataset = train_dataset
        self.pass_rates = pass_rates  # aligned with train_dataset; NaN = no estimate
        self.reward_index = reward_index  # position of cfg.reward among the run's rewards, None if absent
        self.sampler: CurriculumSampler | None = None
        self.table: PassRateTable | None = None
        self._masked: np.ndarray | None = None  # (P * local batch,) samples to drop from the loss, gathered order
        self._zero_variance: np.ndarray | None = None  # (P * local groups,) of the last scored call, gathered order
        self.refilling = False  # set by rlkd.training.refill while it scores extra groups
        self.index_column = INDEX_COLUMN
        self.hook_seconds = 0.0  # time spent in the reward/scoring hooks, for the overhead benchmark

    @property
    def refills(self) -> bool:
        return self.cfg.dynamic_sampling == "refill"

    @property
    def uses_sampler(self) -> bool:
        # refill draws its extra prompts from a curriculum, so it needs one even for uniform sampling
        return self.cfg.name != "uniform" or self.pass_rates is not None or self.refills

    @classmethod
    def from_config(cls, cfg: RunConfig, train_ds) -> CurriculumRuntime:
        cur = cfg.curriculum
        names = [r.name for r in cfg.rewards]
        reward_index = names.index(cur.reward) if cur.reward in names else None
        needs_reward = cur.name == "online" or cur.dynamic_sampling != "off"
        if reward_index is None and needs_reward:
            raise ConfigError(
                f"curriculum.reward '{cur.reward}' is not one of the run's rewards {names}: the online table and "
                "dynamic sampling read its scores; add it to rewards: or set curriculum.reward"
            )
        rates = None
        if cur.pass_rates is not None:
            rates = join_pass_rates(train_ds, load_pass_rates(cur.pass_rates))
            missing = int(np.isnan(rates).sum())
            if missing and cur.name != "online":
                raise ConfigError(
                    f"{missing} of {len(rates)} train prompts have no pass rate in '{cur.pass_rates}' (was it made "
                    "with other data settings, or stopped early?): rerun `rlkd passrate` with this config (it "
                    "resumes), or use curriculum.name online, which starts them from curriculum.prior"
                )
            try:
                report = pass_rate_filter(rates, cur.max_pass_rate, cur.min_pass_rate, keep_unknown=True)
            except CurriculumError as e:
                raise ConfigError(f"curriculum: {e}") from None
            logger.info(report.summary())
            if report.kept == 0:
                raise ConfigError(f"curriculum: the pass-rate filter kept no prompts ({report.summary()})")
            keep = np.flatnonzero(report.keep)
            train_ds, rates = train_ds.select(keep), rates[keep]
        runtime = cls(cur, train_ds, rates, reward_index)
        if runtime.uses_sampler:
            runtime.train_dataset = train_ds.add_column(INDEX_COLUMN, list(range(len(train_ds))))
        return runtime

    # -- the sampler ------------------------------------------------------------------------------------------

    def build_sampler(self, trainer) -> CurriculumSampler | None:
        if not self.uses_sampler:
            return None
        args, cur = trainer.args, self.cfg
        batch_size = args.generation_batch_size // trainer.num_generations  # unique prompts per generation batch
        repeat_count = trainer.num_iterations * args.steps_per_generation
        n = len(self.train_dataset)
        num_batches = planned_batches(args, n, batch_size, repeat_count)
        try:
            if cur.name == "uniform":
                curriculum = UniformCurriculum(n, batch_size, num_batches, seed=args.seed, pass_rates=self.pass_rates)
            elif self.strata() is not None:
                make = self._scheduled(num_batches, args.seed, own_table=True)
                curriculum = StratifiedCurriculum(self.strata(), make, batch_size, num_batches, seed=args.seed)
            else:
                curriculum = self._scheduled(num_batches, args.seed, own_table=False)(np.arange(n), batch_size)
        except CurriculumError as e:
            raise ConfigError(f"curriculum: {e}") from None
        if self.refills and (args.per_device_train_batch_size * args.steps_per_generation) % trainer.num_generations:
            raise ConfigError(
                "curriculum.dynamic_sampling refill keeps whole groups on every rank: make "
                "grpo.per_device_train_batch_size x steps_per_generation a multiple of grpo.num_generations"
            )
        if self.table is None and self.reward_index is not None:
            # Offline curricula draw by their fixed estimates; the table still tracks what training sees.
            self.table = PassRateTable(n, self.pass_rates, prior=cur.prior, ema=cur.ema)
        self.sampler = CurriculumSampler(
            curriculum, mini_repeat_count=trainer.num_generations, batch_size=batch_size, repeat_count=repeat_count
        )
        logger.info("curriculum %s: %d prompts, %d a batch, %d planned batches", cur.name, n, batch_size, num_batches)
        return self.sampler

    def strata(self) -> list[np.ndarray] | None:
        """The pool split by reasoning mode (`curriculum.stratify: mode`), or None when there is one mode."""
        if self.cfg.stratify != "mode" or "thinking" not in self.train_dataset.column_names:
            return None
        modes = np.array([bool(t) if t is not None else None for t in self.train_dataset["thinking"]], dtype=object)
        parts = [np.flatnonzero(modes == m) for m in (True, False, None)]
        parts = [p for p in parts if p.size]
        return parts if len(parts) > 1 else None

    def _scheduled(self, num_batches: int, seed: int, own_table: bool):
        """A factory of the configured Gaussian or online curriculum over a subset of the pool (pool indices `idx`,
        `size` prompts a batch). `own_table`: an online curriculum over a stratum keeps its own table; the whole
        pool's (`self.table`) is then updated by the runtime."""
        cur = self.cfg
        schedule = dict(start=cur.start, end=cur.end, sigma=cur.sigma, schedule=cur.schedule)
        made = []

        def make(idx: np.ndarray, size: int):
            rates = self.pass_rates[idx] if self.pass_rates is not None else None
            sub_seed = seed + 1_000_003 * len(made)  # each stratum draws from a stream of its own
            made.append(size)
            if cur.name == "gaussian":
                return GaussianCurriculum(rates, size, num_batches, levels=cur.levels, seed=sub_seed, **schedule)
            table = PassRateTable(len(idx), rates, prior=cur.prior, ema=cur.ema)
            if not own_table:
                self.table = table
            levels = cur.levels or ONLINE_LEVELS
            return OnlineCurriculum(
                table, size, num_batches, levels=levels, skip_settled=cur.skip_settled, seed=sub_seed, **schedule
            )

        return make

    # -- rewards and dynamic sampling -------------------------------------------------------------------------

    def on_rewards(self, trainer, inputs: list[dict[str, Any]], rewards_per_func) -> None:
        """`rewards_per_func` is TRL's gathered (P * local batch, n_rewards) tensor, the same on every rank."""
        self._log_estimates(trainer, inputs)
        if self.reward_index is None:
            return
        t0 = time.perf_counter()
        num_generations = trainer.num_generations
        accuracy = rewards_per_func[:, self.reward_index].float().cpu().numpy()
        stats = group_stats(accuracy, num_generations)
        self._zero_variance = stats.zero_variance
        indices = None
        if self.sampler is not None:
            import torch

            local = torch.tensor([row[INDEX_COLUMN] for row in inputs], device=trainer.accelerator.device)
            indices = trainer.accelerator.gather(local).cpu().numpy()
            self.sampler.curriculum.observe(indices, accuracy)
            if self.table is not None and self.table is not getattr(self.sampler.curriculum, "table", None):
                self.table.update(indices, accuracy)
        if self.refilling:  # extra groups: observed above; the step's metrics describe its first round
            self.hook_seconds += time.perf_counter() - t0
            return
        metrics = {
            "frac_zero_variance_groups": stats.frac_zero_variance,
            "batch_pass_rate_mean": stats.batch_pass_rate,
        }
        if indices is not None:
            plan = self.sampler.scored(indices[::num_generations])
            metrics.update({k: v for k, v in plan.items() if k in PLAN_METRICS})
            if "skipped_prompts" in plan:  # each skipped prompt's group of rollouts went to another prompt
                metrics["rollouts_saved"] = plan["skipped_prompts"] * num_generations
        if self.table is not None:
            metrics["table_pass_rate_mean"] = float(self.table.rates().mean())
        mask = self.cfg.dynamic_sampling == "mask"
        masked = stats.zero_variance if mask else np.zeros_like(stats.zero_variance)
        self._masked = np.repeat(masked, num_generations)
        if not self.refills:  # refill logs what it could not replace, once its rounds are done
            metrics["frac_masked"] = float(masked.mean()) if masked.size else 0.0
        for key, value in metrics.items():
            trainer._metrics["train"][f"curriculum/{key}"].append(value)
        self.hook_seconds += time.perf_counter() - t0

    def _log_estimates(self, trainer, inputs: list[dict[str, Any]]) -> None:
        """A column of TRL's completions table: each sample's prompt's pass-rate estimate before this
        group is observed (the online table's, else the offline file's)."""
        if not inputs or INDEX_COLUMN not in inputs[0]:
            return
        rates = self.table.rates() if self.table is not None else self.pass_rates
        if rates is None:
            return
        trainer._log_completion_extra("pass_rate_estimate", [float(rates[row[INDEX_COLUMN]]) for row in inputs])

    def take_zero_variance(self) -> np.ndarray:
        """The zero-variance groups of the call just scored (gathered order); each call's flags are taken once."""
        flags, self._zero_variance = self._zero_variance, None
        if flags is None:
            raise RuntimeError("dynamic sampling found no scored groups: the curriculum's reward was not computed")
        return flags

    def extra_prompts(self, n: int, exclude: list[int]) -> list[int]:
        """`n` more prompts at the curriculum's current target (the same on every rank), for refill."""
        t0 = time.perf_counter()
        try:
            return self.sampler.curriculum.extra(n, exclude)
        finally:
            self.hook_seconds += time.perf_counter() - t0

    def after_scoring(self, trainer, output: dict[str, Any]) -> dict[str, Any]:
        """Dynamic sampling `mask`: drop the masked groups' samples from the loss (zero advantage, no loss tokens)."""
        masked, self._masked = self._masked, None
        if self.cfg.dynamic_sampling != "mask" or masked is None:
            return output
        n_local = output["advantages"].shape[0]
        start = trainer.accelerator.process_index * n_local  # TRL's own process slice
        return self.mask_groups(trainer, output, masked[start : start + n_local])

    def mask_groups(self, trainer, output: dict[str, Any], drop: np.ndarray) -> dict[str, Any]:
        """Zero the advantage and loss tokens of the local samples in `drop`, and recount the batch's loss tokens
        (called on every rank: the count is gathered)."""
        t0 = time.perf_counter()
        import torch

        drop = torch.as_tensor(drop, device=output["advantages"].device)
        output["advantages"] = output["advantages"].masked_fill(drop, 0.0)
        keep = (~drop).to(output["completion_mask"].dtype).unsqueeze(1)  # (B, 1)
        output["completion_mask"] = output["completion_mask"] * keep
        if output.get("tool_mask") is not None:
            output["tool_mask"] = output["tool_mask"] * keep
        loss_mask = (
            output["completion_mask"]
            if output.get("tool_mask") is None
            else (output["completion_mask"] * output["tool_mask"])
        )
        # The DAPO loss divides by the batch's loss tokens: masked groups must not dilute it.
        output["num_items_in_batch"] = trainer.accelerator.gather(loss_mask.sum()).sum()
        self.hook_seconds += time.perf_counter() - t0
        return output

    def log_refill(self, trainer, **metrics: float) -> None:
        for key, value in metrics.items():
            trainer._metrics["train"][f"dynamic_sampling/{key}"].append(float(value))
        trainer._metrics["train"]["curriculum/frac_masked"].append(float(metrics["trained_zero_variance_frac"]))

    # -- checkpoints and logging ------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        return {
            "version": 1,
            "name": self.cfg.name,
            "num_prompts": len(self.train_dataset),
            "sampler": self.sampler.state_dict() if self.sampler is not None else None,
            "table": self.table.state_dict() if self.table is not None else None,
        }

    def load_state_dict(self, state: dict[str, Any] | None, source: str | Path = "checkpoint") -> None:
        """Continue from a checkpoint's curriculum state; `source` names it in errors."""
        path = source
        if state is None:
            if self.sampler is not None:
                logger.warning("%s has no curriculum state: the curriculum starts from scratch", source)
            return
        if state["name"] != self.cfg.name or state["num_prompts"] != len(self.train_dataset):
            raise ConfigError(
                f"{path} is for curriculum '{state['name']}' over {state['num_prompts']} prompts; this run is "
                f"'{self.cfg.name}' over {len(self.train_dataset)}: resume with the config that made the checkpoint"
            )
        try:
            if self.sampler is not None and state["sampler"] is not None:
                self.sampler.load_state_dict(state["sampler"])
            if self.table is not None and state["table"] is not None:
                self.table.load_state_dict(state["table"])
        except CurriculumError as e:
            raise ConfigError(f"{path}: {e}") from None

    def log_histogram(self, trainer) -> None:
        if self.table is None or not trainer.accelerator.is_main_process or not trainer.model.training:
            return
        if not trainer.args.report_to or "wandb" not in trainer.args.report_to:
            return
        import wandb

        if wandb.run is not None:
            wandb.log({"curriculum/pass_rate_hist": wandb.Histogram(self.table.rates(), num_bins=20)}, commit=False)


def planned_batches(args, num_prompts: int, batch_size: int, repeat_count: int) -> int:
    """How many generation batches the run will draw: what the Gaussian schedule spreads its course over."""
    micro_per_batch = repeat_count  # each chunk is served for this many micro-steps
    if args.max_steps > 0:
        micro_steps = args.max_steps * args.gradient_accumulation_steps
        return max(1, math.ceil(micro_steps / micro_per_batch))
    return max(1, math.ceil(args.num_train_epochs * (num_prompts // batch_size)))
