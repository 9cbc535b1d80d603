"""The accuracy reward: math-verify of the final answer against the dataset's `solution`.

Mode-aware, unlike TRL's rewards: the answer is the text after the closing </think>; with thinking on and no
</think> the reasoning never ended and the score is 0.0; thinking-off answers are scored as they are. A solution
math-verify cannot parse gives None, so TRL skips the sample instead of training on a wrong 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rewards.text import final_answer, full_completions, sample_modes
from rewards.verify import Verifier


def make_accuracy_reward(timeout: float = 5.0, workers: int | None = None):
    """An accuracy reward whose every verification is bounded by `timeout` seconds (in any thread or process)."""
    verifier = Verifier(timeout=timeout, workers=workers)

    def accuracy_reward(
        completions: Sequence[Any],
        solution: Sequence[Any],
        prompts: Sequence[Any] | None = None,
        thinking: Sequence[Any] | None = None,
        **_,
    ) -> list[float | None]:
        texts = full_completions(completions, prompts)
        modes = sample_modes(len(texts), prompts, thinking)
        answers = [final_answer(t, m) for t, m in zip(texts, modes)]
        return verifier.score([str(s) if s is not None else "" for s in solution], answers)

    accuracy_reward.verifier = verifier
    return accuracy_reward


accuracy_reward = make_accuracy_reward()
