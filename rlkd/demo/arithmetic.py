"""The synthetic arithmetic task: prompts and solutions generated locally, difficulty set by digit count.

It lets the tiny config train with real rewards (math-verify on `\\boxed{}` answers) and nothing downloaded.
"""

from __future__ import annotations

import random
from typing import Any

OPS = ("+", "-", "*")


def operand_range(digits: int) -> tuple[int, int]:
    """The smallest and largest operand with exactly `digits` digits (one-digit operands include 0)."""
    return (0 if digits == 1 else 10 ** (digits - 1)), 10**digits - 1


def make_problem(rng: random.Random, digits: int, ops: tuple[str, ...] = OPS) -> dict[str, Any]:
    """One problem with operands of exactly `digits` digits."""
    lo, hi = operand_range(digits)
    a, b, op = rng.randint(lo, hi), rng.randint(lo, hi), rng.choice(ops)
    value = a + b if op == "+" else a - b if op == "-" else a * b
    return {"question": f"{a}{op}{b}", "a": a, "b": b, "op": op, "solution": str(value), "digits": digits}


# The user message; a shorter one (e.g. "{question}=") makes tiny-model runs faster: one token per character.
DEFAULT_TEMPLATE = "Compute {question}. Put the answer in \\boxed{{}}."


def generate(
    num: int,
    *,
    min_digits: int = 1,
    max_digits: int = 2,
    ops: tuple[str, ...] = OPS,
    seed: int = 0,
    template: str = DEFAULT_TEMPLATE,
) -> list[dict[str, Any]]:
    """`num` problems, digit counts spread evenly over [min_digits, max_digits]; rows carry `prompt` and `solution`.

    `template` is formatted with the question (e.g. "12+7") into the prompt text.
    """
    if not 1 <= min_digits <= max_digits:
        raise ValueError(f"need 1 <= min_digits <= max_digits, got {min_digits}, {max_digits}")
    rng = random.Random(seed)
    rows = []
    for i in range(num):
        digits = min_digits + i % (max_digits - min_digits + 1)
        p = make_problem(rng, digits, tuple(ops))
        p["prompt"] = template.format(question=p["question"])
        rows.append(p)
    return rows


def num_questions(digits: int, ops: tuple[str, ...] = OPS) -> int:
    """How many distinct questions have operands of exactly `digits` digits (200 one-digit add/sub questions)."""
    lo, hi = operand_range(digits)
    return (hi - lo + 1) ** 2 * len(ops)


def generate_splits(
    num_train: int = 256,
    num_eval: int = 64,
    *,
    seed: int = 0,
    ops: tuple[str, ...] = OPS,
    eval_max_share: float = 1 / 3,
    **kwargs,
) -> dict[str, list[dict]]:
    """Train and eval splits with no question in both (eval is held out).

    Eval is drawn first, round robin over digit counts, so it spreads over difficulty like the stream does (short
    questions repeat often: there are only 100 one-digit pairs per op, and a first-come split would leave eval
    mostly the longest ones) and so it stays the same whatever `num_train` is. No digit count gives eval more than
    `eval_max_share` of all its possible questions, so a large eval split cannot take every one-digit question away
    from training; the other digit counts fill the rest. Train is then the first `num_train` distinct questions of
    the stream that are not in eval.
    """
    ops = tuple(ops)
    rows = generate(2 * num_train + 10 * num_eval, seed=seed, ops=ops, **kwargs)  # room for skipped repeats
    by_digits: dict[int, list[dict]] = {}
    seen: set[str] = set()
    for row in rows:
        if row["question"] not in seen:
            seen.add(row["question"])
            by_digits.setdefault(row["digits"], []).append(row)
    evals: list[dict] = []
    queues = [iter(by_digits[d][: int(eval_max_share * num_questions(d, ops))]) for d in sorted(by_digits)]
    while len(evals) < num_eval and queues:
        for queue in list(queues):  # a digit count that runs out (or reaches its cap) leaves its share to the others
            row = next(queue, None)
            if row is None:
                queues.remove(queue)
            elif len(evals) < num_eval:
                evals.append(row)
    held_out = {row["question"] for row in evals}
    train: list[dict] = []
    for row in rows:
        if len(train) == num_train:
            break
        if row["question"] not in held_out:
            held_out.add(row["question"])  # also keeps train free of repeats
            train.append(row)
    return {"train": train, "eval": evals}
