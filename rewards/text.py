"""Shared text helpers for rewards: completion text, per-sample reasoning mode, the final answer.

Kept free of torch and TRL: rewards are strings in, floats out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from rewards.errors import RewardError

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"

# The reasoning toggle: "detailed thinking on/off" (Llama-Nemotron) or /think, /no_think (Qwen3, later Nemotron).
# Not preceded by a word character, "/" or "<", so paths and the closing tag "</think>" do not count.
_MARKER = re.compile(r"\bdetailed thinking (on|off)\b|(?<![\w/<])/(no_think|think)\b", re.IGNORECASE)
_SLASH_TAIL = re.compile(r"(?<![\w/<])/(no_think|think)\W*$", re.IGNORECASE)
_TRUE = {"on", "true", "1", "yes"}
_FALSE = {"off", "false", "0", "no"}


def completion_text(completion: Any) -> str:
    """A completion as plain text: strings pass through; conversational ones are the assistant contents joined."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        return _content_text(completion.get("content"))
    if isinstance(completion, Sequence):
        return "".join(_content_text(m.get("content")) for m in completion if isinstance(m, dict))
    return "" if completion is None else str(completion)


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content blocks: [{"type": "text", "text": ...}]
        return "".join(b.get("text", "") for b in content if isinstance(b, dict))
    return "" if content is None else str(content)


def _last_marker(text: str) -> bool | None:
    """The mode set by the last toggle marker in `text` (a later instruction overrides an earlier one)."""
    mode = None
    for m in _MARKER.finditer(text):
        mode = (m.group(1) or m.group(2)).lower() in ("on", "think")
    return mode


def prompt_mode(prompt: Any) -> bool | None:
    """The reasoning mode a prompt asks for, or None when it does not say.

    Conversational prompts: the system message's toggle ("detailed thinking on/off", "/think", "/no_think"); a
    /think or /no_think ending the last user message (Qwen3's soft switch) overrides it, being the later
    instruction. Plain-text prompts (already templated): the last marker anywhere.
    """
    if isinstance(prompt, str):
        return _last_marker(prompt)
    if not isinstance(prompt, Sequence):
        return None
    messages = [m for m in prompt if isinstance(m, dict)]
    users = [m for m in messages if m.get("role") == "user"]
    if users:
        tail = _SLASH_TAIL.search(_content_text(users[-1].get("content")).rstrip())
        if tail:
            return tail.group(1).lower() == "think"
    mode = None
    for m in messages:
        if m.get("role") == "system":
            found = _last_marker(_content_text(m.get("content")))
            mode = found if found is not None else mode
    return mode


def prefills_think(prompt: Any) -> bool:
    """True when the prompt (plain text, or its last message) ends with an opened <think> the model continues."""
    if isinstance(prompt, str):
        text = prompt
    elif isinstance(prompt, Sequence) and prompt and isinstance(prompt[-1], dict):
        text = _content_text(prompt[-1].get("content"))
    else:
        return False
    text = text.rstrip()
    return text.endswith(THINK_OPEN) and text.rfind(THINK_OPEN) > text.rfind(THINK_CLOSE)


def parse_mode(value: Any) -> bool | None:
    """A `thinking` column value as a mode: booleans, 0/1, or "on"/"off"/"true"/"false" (datasets store strings);
    None when unset. Anything else is a ValueError, not a silent True."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError(f"{value!r} is not a reasoning mode: the thinking column must hold true/false (or on/off, 1/0)")


def column_mode(value: Any, index: int) -> bool | None:
    """`parse_mode` for sample `index` of a reward's batch: a value that is not a mode is a RewardError."""
    try:
        return parse_mode(value)
    except ValueError:
        raise RewardError(
            f"thinking[{index}] = {value!r}: the thinking column must hold true/false (or on/off)"
        ) from None


def sample_modes(n: int, prompts: Sequence[Any] | None = None, thinking: Sequence[Any] | None = None) -> list[bool]:
    """Per-sample reasoning mode: the `thinking` column wins, then the prompt's toggle, else on."""
    for name, column in (("thinking", thinking), ("prompts", prompts)):
        if column is not None and len(column) != n:
            raise RewardError(f"{name} has {len(column)} values for {n} completions")
    modes = []
    for i in range(n):
        mode = column_mode(thinking[i], i) if thinking is not None else None
        if mode is None and prompts is not None:
            mode = prompt_mode(prompts[i])
        modes.append(True if mode is None else mode)
    return modes


def full_completions(
    completions: Sequence[Any],
    prompts: Sequence[Any] | None = None,
    modes: Sequence[bool] | None = None,
    template_prefills: bool = False,
) -> list[str]:
    """Completion texts, with `<think>` put back in front where the prompt prefilled it.

    `template_prefills`: the chat template itself opens <think> after the generation prompt (DeepSeek-R1 and
    Qwen3 thinking templates), which the prompt messages do not show; thinking-on samples get the tag back.
    """
    texts = [completion_text(c) for c in completions]
    out = []
    for i, text in enumerate(texts):
        prefilled = prompts is not None and prefills_think(prompts[i])
        prefilled |= template_prefills and modes is not None and modes[i]
        out.append(THINK_OPEN + text if prefilled else text)
    return out


def final_answer(text: str, thinking: bool) -> str | None:
    """The answer part of a completion: the text after the last </think>.

    With thinking on and no closing </think> the reasoning never ended, so there is no answer (None): an answer
    that only appears inside the reasoning must not count.
    """
    close = text.rfind(THINK_CLOSE)
    if close >= 0:
        return text[close + len(THINK_CLOSE) :]
    if thinking:
        return None
    return text


def final_answers(
    completions: Sequence[Any],
    solution: Sequence[Any],
    prompts: Sequence[Any] | None = None,
    thinking: Sequence[Any] | None = None,
) -> list[str | None]:
    """Each sample's final answer in its own mode (None: the reasoning never ended), for rewards that compare
    against `solution`, whose length is checked here so a misaligned column is an error and not a wrong score."""
    if len(solution) != len(completions):
        raise RewardError(f"solution has {len(solution)} values for {len(completions)} completions")
    modes = sample_modes(len(completions), prompts, thinking)
    return [final_answer(t, m) for t, m in zip(full_completions(completions, prompts, modes), modes)]
