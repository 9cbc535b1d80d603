"""The accuracy reward: math-verify of the final answer against the dataset's `solution`.

Mode-aware, unlike TRL's rewards: the answer is the text after the closing </think>; with thinking on and no
</think> the reasoning never ended and the score is 0.0 (an answer inside the reasoning does not count);
thinking-off answers are scored as they are, exactly as trl.rewards.accuracy_reward scores them. A solution
math-verify cannot parse gives None, so TRL skips the sample instead of training on a wrong 0. Every sample is
bounded by a hard time limit (rewards.mathverify.verify), in any thread and any process.

    reward = make_accuracy_reward(timeout=5.0, workers=2)     # or get_reward("accuracy", timeout=5.0)
    reward(completions, solution=["$\\frac{1}{2}$"], thinking=[False])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rewards.errors import RewardError
from rewards.mathverify.verify import Verifier
from rewards.text import final_answers


def make_accuracy_reward(timeout: float = 5.0, workers: int | None = None, fast_latex: bool = True):
    """An accuracy reward with a hard `timeout` (seconds) per sample, verified in `workers` processes.

    workers: default one per usable core (at most 8). Worker processes start on the first call, not here.
    fast_latex: parse LaTeX with ANTLR's two-stage SLL/LL strategy (the same parse trees, ~1.5x faster);
    false runs latex2sympy exactly as shipped.
    """
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise RewardError(f"accuracy: timeout must be a positive number of seconds, got {timeout!r}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise RewardError(f"accuracy: workers must be a positive integer (or unset for one per core), got {workers!r}")
    verifier = Verifier(timeout=float(timeout), workers=workers, fast_latex=bool(fast_latex))

    def accuracy_reward(
        completions: Sequence[Any],
        solution: Sequence[Any],
        prompts: Sequence[Any] | None = None,
        thinking: Sequence[Any] | None = None,
        **_,
    ) -> list[float | None]:
        answers = final_answers(completions, solution, prompts, thinking)
        return verifier.score(["" if s is None else str(s) for s in solution], answers)

    accuracy_reward.verifier = verifier
    accuracy_reward.take_metrics = verifier.take_metrics  # logged as rewards/<name>/timeouts
    accuracy_reward.close = verifier.close  # stops the worker processes (they also stop at interpreter exit)
    return accuracy_reward


accuracy_reward = make_accuracy_reward()
