"""Reward functions for GRPO: strings in, floats out (TRL's signature), no torch and no vLLM.

    from rewards import accuracy_reward, format_reward, register_reward, get_reward
"""

from rewards import builtin as _builtin  # noqa: F401  (registers the built-ins)
from rewards.accuracy import accuracy_reward
from rewards.format import format_reward
from rewards.registry import RewardError, get_reward, import_plugins, register_reward, registered_names

__all__ = [
    "RewardError",
    "accuracy_reward",
    "format_reward",
    "get_reward",
    "import_plugins",
    "register_reward",
    "registered_names",
]
