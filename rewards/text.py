"""Shared text helpers for rewards: completion text, per-sample reasoning mode, the final answer.

Kept free of torch and TRL: rewards are strings in, floats out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"

_OFF_MARKERS = ("detailed thinking off", "/no_think")
_ON_MARKERS = ("detailed thinking on", "/think")
_SLASH_TAIL = re.compile(r"/(no_think|think)\s*$")


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


def _mode_from_text(text: str) -> bool | None:
    lowered = text.lower()
    if any(m in lowered for m in _OFF_MARKERS):
        return False
    if "detailed thinking on" in lowered:
        return True
    tail = _SLASH_TAIL.search(lowered)
    if tail:
        return tail.group(1) == "think"
    return None


def prompt_mode(prompt: Any) -> bool | None:
    """The reasoning mode a prompt asks for, or None when it does not say.

    Conversational prompts: the system message ("detailed thinking on/off", "/think", "/no_think"), else a
    trailing /think or /no_think in the last user message (Qwen3 style). Plain-text prompts: the same markers.
    """
    if isinstance(prompt, str):
        return _mode_from_text(prompt)
    if isinstance(prompt, Sequence):
        messages = [m for m in prompt if isinstance(m, dict)]
        for m in messages:
            if m.get("role") == "system":
                mode = _mode_from_text(_content_text(m.get("content")))
                if mode is not None:
                    return mode
        users = [m for m in messages if m.get("role") == "user"]
        if users:
            tail = _SLASH_TAIL.search(_content_text(users[-1].get("content")).lower())
            if tail:
                return tail.group(1) == "think"
    return None


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


def sample_modes(n: int, prompts: Sequence[Any] | None = None, thinking: Sequence[Any] | None = None) -> list[bool]:
    """Per-sample reasoning mode: the `thinking` column wins, then the prompt's markers, else on."""
    modes = []
    for i in range(n):
        given = thinking[i] if thinking is not None and i < len(thinking) else None
        if given is not None:
            modes.append(bool(given))
            continue
        inferred = prompt_mode(prompts[i]) if prompts is not None and i < len(prompts) else None
        modes.append(True if inferred is None else inferred)
    return modes


def full_completions(completions: Sequence[Any], prompts: Sequence[Any] | None = None) -> list[str]:
    """Completion texts, with `<think>` put back in front where the prompt prefilled it."""
    texts = [completion_text(c) for c in completions]
    if prompts is None:
        return texts
    return [THINK_OPEN + t if i < len(prompts) and prefills_think(prompts[i]) else t for i, t in enumerate(texts)]


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
