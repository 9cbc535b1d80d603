"""The format reward of the Llama-Nemotron recipe: thinking tags that match the reasoning toggle.

thinking on : exactly one <think>…</think> block at the start (leading whitespace allowed), non-empty reasoning in
              it, a non-empty answer after it, and no other think tag anywhere;
thinking off: no think tags at all and a non-empty answer; with `allow_empty_think=True` an empty
              <think></think> block at the start is also accepted (Qwen3-style templates emit one).
Unlike TRL's think_format_reward it honours a template-prefilled <think> and the thinking-off mode.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rewards.text import THINK_CLOSE, THINK_OPEN, full_completions, sample_modes


def format_ok(text: str, thinking: bool, allow_empty_think: bool = False) -> bool:
    body = text.lstrip()
    if thinking:
        if not body.startswith(THINK_OPEN) or body.count(THINK_OPEN) != 1 or body.count(THINK_CLOSE) != 1:
            return False
        reasoning, _, answer = body[len(THINK_OPEN) :].partition(THINK_CLOSE)
        return bool(reasoning.strip()) and bool(answer.strip())
    if allow_empty_think and body.startswith(THINK_OPEN):
        inner, closed, answer = body[len(THINK_OPEN) :].partition(THINK_CLOSE)
        if not closed or inner.strip():
            return False
        body = answer
    return THINK_OPEN not in body and THINK_CLOSE not in body and bool(body.strip())


def make_format_reward(allow_empty_think: bool = False, template_prefills_think: bool = False):
    """A format reward.

    allow_empty_think: accept an empty leading <think></think> in thinking-off mode (Qwen3-style templates).
    template_prefills_think: the chat template opens <think> itself, so thinking-on completions start inside it.
    """

    def format_reward(
        completions: Sequence[Any], prompts: Sequence[Any] | None = None, thinking: Sequence[Any] | None = None, **_
    ) -> list[float | None]:
        modes = sample_modes(len(completions), prompts, thinking)
        texts = full_completions(completions, prompts, modes, template_prefills_think)
        return [1.0 if format_ok(t, m, allow_empty_think) else 0.0 for t, m in zip(texts, modes)]

    return format_reward


format_reward = make_format_reward()
