"""RLKDTrainer: TRL's GRPOTrainer with rlkd's small hooks, and nothing copied from TRL.

TRL's trainer is ~3,400 lines and its `_generate_and_score_completions` ~600; copying either would drift from TRL
with every release. rlkd overrides only small hooks (the train sampler for curricula, the reward calculation for
online pass rates, the vLLM weight sync on CPU), each with a CPU test, and TRL is pinned to one minor version so
an upgrade that moves a hook fails those tests loudly.
"""

from __future__ import annotations

import inspect
from contextlib import ExitStack

from trl import GRPOTrainer

from rlkd.config import GenerationConfig
from rlkd.vllm_engine import enter_colocated_engine


class RLKDTrainer(GRPOTrainer):
    """GRPOTrainer as configured by rlkd. Reward names are resolved to callables before they reach TRL (TRL
    would load a string as a Hub reward model). `generation` carries the vLLM engine options TRL's GRPOConfig
    has no field for (see rlkd.vllm_engine)."""

    def __init__(self, *args, generation: GenerationConfig | None = None, **kwargs):
        reward_funcs = kwargs.get("reward_funcs")
        if reward_funcs is not None:
            funcs = reward_funcs if isinstance(reward_funcs, list) else [reward_funcs]
            if any(isinstance(f, str) for f in funcs):
                raise TypeError("RLKDTrainer takes reward callables; resolve names with rewards.get_reward(name)")
        bound = inspect.signature(GRPOTrainer.__init__).bind(self, *args, **kwargs).arguments
        with ExitStack() as stack:
            gen = generation or GenerationConfig()
            cpu_vllm = enter_colocated_engine(stack, gen, bound.get("args"), bound["model"])
            super().__init__(*args, **kwargs)
        if cpu_vllm:
            from rlkd.vllm_cpu import CPUVLLMGeneration

            CPUVLLMGeneration.adopt(self.vllm_generation, gen.vllm_cpu_threads)

