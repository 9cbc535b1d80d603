"""The accuracy reward: the final answer against the dataset's `solution`, in the style answers are written.

Mode-aware, unlike TRL's rewards: the answer is the text after the closing </think>; with thinking on and no
</think> the reasoning never ended and the score is 0.0 (an answer inside the reasoning does not count). A solution
that cannot be judged gives None, so TRL skips the sample instead of training on a wrong 0.

`answer` says how answers are written:
- `latex` (default): math-verify with exactly trl.rewards.accuracy_reward's extraction (`\\boxed{}` first, LaTeX
  needs delimiters), so verdicts equal TRL's. A bare `42` has nothing to extract and scores 0. Golds in scientific
  notation, which math-verify reads as their mantissa, give None instead of a wrong verdict.
- `last_number`: plain numbers (GSM8K, reasoning-gym): the last number of the answer (of its last `\\boxed{}` or
  `<answer>` tag if it has one) equals the gold by value: `42`, `42.0`, `+42`, `042`, `1,692`, `4.2e1` all match
  42. A gold that is not one number gives None. `rel_tol` allows a relative tolerance.
- `any`: numeric golds as `last_number` when the answer has no LaTeX, and through math-verify when it has;
  other golds (expressions, fractions, sets) through math-verify.
math-verify runs in killable worker processes with a hard time limit per sample (rewards.mathverify.verify);
number comparisons are exact decimal arithmetic in this process.

    reward = make_accuracy_reward(answer="last_number")     # or get_reward("accuracy", answer="last_number")
    reward(["<think>...</think>1,692"], solution=["1692"])  # [1.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rewards.answers import answer_number, has_latex, is_scientific, numbers_equal, parse_number
from rewards.errors import RewardError
from rewards.mathverify.verify import Verifier
from rewards.text import final_answers

ANSWER_STYLES = ("latex", "last_number", "any")


def make_accuracy_reward(
    timeout: float = 5.0,
    workers: int | None = None,
    fast_latex: bool = True,
    answer: str = "latex",
    rel_tol: float = 0.0,
):
    """An accuracy reward with a hard `timeout` (seconds) per sample, verified in `workers` processes.

    workers: default one per usable core (at most 8). Worker processes start on the first call, not here.
    fast_latex: parse LaTeX with ANTLR's two-stage SLL/LL strategy (the same parse trees, ~1.5x faster);
    false runs latex2sympy exactly as shipped.
    answer: how answers are written, `latex`, `last_number` or `any` (the module docstring says what each does).
    rel_tol: relative tolerance for number comparisons (`last_number`, and numbers under `any`); 0 is exact.
    """
    if answer not in ANSWER_STYLES:
        raise RewardError(f"accuracy: answer must be one of {list(ANSWER_STYLES)}, got {answer!r}")
    if isinstance(rel_tol, bool) or not isinstance(rel_tol, (int, float)) or not 0 <= rel_tol < 1:
        raise RewardError(f"accuracy: rel_tol must be a number in [0, 1), got {rel_tol!r}")
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
        golds = ["" if s is None else str(s) for s in solution]
        out: list[float | None] = [None] * len(golds)
        latex = []  # samples for math-verify
        for i, (gold, given) in enumerate(zip(golds, answers)):
            route = _route(answer, gold, given)
            if route == "number":
                out[i] = _number_verdict(gold, given, rel_tol)
            elif route == "latex":
                latex.append(i)
        if latex:
            scores = verifier.score([golds[i] for i in latex], [answers[i] for i in latex])
            for i, score in zip(latex, scores):
                out[i] = score
        return out

    accuracy_reward.verifier = verifier
    accuracy_reward.take_metrics = verifier.take_metrics  # logged as rewards/<name>/timeouts
    accuracy_reward.close = verifier.close  # stops the worker processes (they also stop at interpreter exit)
    return accuracy_reward


def _route(style: str, gold: str, given: str | None) -> str:
    """ "latex" (math-verify), "number" (by value), or "skip" (a gold math-verify would misread: None)."""
    if style == "last_number":
        return "number"
    if style == "any" and parse_number(gold) is not None and (given is None or not has_latex(given)):
        return "number"
    if is_scientific(gold):  # math-verify reads 1.75e-22 as 1.75: a verdict on that would be wrong either way
        return "number" if style == "any" else "skip"
    return "latex"


def _number_verdict(gold: str, given: str | None, rel_tol: float) -> float | None:
    expected = parse_number(gold)
    if expected is None:
        return None  # not a number: this style cannot judge it
    got = answer_number(given) if given is not None else None
    return 1.0 if got is not None and numbers_equal(got, expected, rel_tol) else 0.0


accuracy_reward = make_accuracy_reward()
