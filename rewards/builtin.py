"""The built-in rewards, registered under the names configs use; they run in the trainer's process by default
(plug-ins run isolated: rewards.isolation)."""

from __future__ import annotations

from rewards.accuracy import make_accuracy_reward
from rewards.format import make_format_reward
from rewards.judge import make_judge_reward
from rewards.registry import register_builtin

register_builtin("accuracy")(make_accuracy_reward)
register_builtin("format")(make_format_reward)
register_builtin("judge")(make_judge_reward)
