"""The synthetic arithmetic task: prompts and solutions generated locally, difficulty set by digit count.

It lets the tiny config train with real rewards (math-verify on `\\boxed{}` answers) and nothing downloaded.
"""

from __future__ import annotations

import random
from typing import Any

OPS = ("+", "-", "*")


def make_problem(rng: random.Random, digits: int, ops: tuple[str, ...] = OPS) -> dict[str, Any]:
    """One problem with operands of exactly `digits` digits."""
    lo, hi = (0 if digits == 1 else 10 ** (digits - 1)), 10**digits - 1
    a, b, op = rng.randint(lo, hi), rng.randint(lo, hi), rng.choice(ops)
    value = a + b if op == "+" else a - b if op == "-" else a * b
    return {"question": f"{a}{op}{b}", "a": a, "b": b, "op": op, "solution": str(value), "digits": digits}


# The user message; a shorter one (e.g. "{question}=") makes tiny-model runs faster: one token per character.
DEFAULT_TEMPLATE = "Compute {question}. Put the answer in \\boxed{{}}."


def generate(num: int, *, min_digits: int = 1, max_digits: int = 2, ops: tuple[str, ...] = OPS,
             seed: int = 0, template: str = DEFAULT_TEMPLATE) -> list[dict[str, Any]]:
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


def generate_splits(num_train: int = 256, num_eval: int = 64, *, seed: int = 0, **kwargs) -> dict[str, list[dict]]:
    """Train and eval splits with no question in both (eval is held out).

    Train is the first `num_train` distinct questions of the stream. Eval takes the next distinct questions round
    robin over digit counts, so it spreads over difficulty like train does: short questions repeat often in the
    stream (there are only 100 one-digit pairs per op), and a first-come eval would be mostly the longest ones.
    """
    rows = generate(num_train + num_eval * 10, seed=seed, **kwargs)
    seen: set[str] = set()
    train: list[dict] = []
    by_digits: dict[int, list[dict]] = {}
    for row in rows:
        if row["question"] in seen:
            continue
        seen.add(row["question"])
        if len(train) < num_train:
            train.append(row)
        else:
            by_digits.setdefault(row["digits"], []).append(row)
    evals: list[dict] = []
    queues = [iter(by_digits[d]) for d in sorted(by_digits)]
    while len(evals) < num_eval and queues:
        for queue in list(queues):  # a digit count that runs out leaves its share to the others
            row = next(queue, None)
            if row is None:
                queues.remove(queue)
            elif len(evals) < num_eval:
                evals.append(row)
    return {"train": train, "eval": evals}
