"""The built-in rewards, registered under the names configs use."""

from __future__ import annotations

from rewards.accuracy import make_accuracy_reward
from rewards.format import make_format_reward
from rewards.judge import make_judge_reward
from rewards.registry import register_reward

register_reward("accuracy")(make_accuracy_reward)
register_reward("format")(make_format_reward)
register_reward("judge")(make_judge_reward)
