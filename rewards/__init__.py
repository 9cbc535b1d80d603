"""Reward functions for GRPO: strings in, floats out (TRL's signature), no torch and no vLLM.

    from rewards import accuracy_reward, format_reward, judge_reward, register_reward, get_reward

Every reward is `fn(completions, **columns) -> list[float | None]`; None means "cannot judge, skip this sample".
The rules, the plug-in API and a "write your own reward" example are in docs/rewards.md.
"""

from rewards import builtin as _builtin  # noqa: F401  (registers the built-ins)
from rewards.accuracy import accuracy_reward, make_accuracy_reward
from rewards.format import format_reward, make_format_reward
from rewards.judge import judge_reward, make_judge_reward
from rewards.registry import RewardError, get_reward, import_plugins, register_reward, registered_names

__all__ = [
    "RewardError",
    "accuracy_reward",
    "format_reward",
    "get_reward",
    "import_plugins",
    "judge_reward",
    "make_accuracy_reward",
    "make_format_reward",
    "make_judge_reward",
    "register_reward",
    "registered_names",
]
