"""The synthetic arithmetic task: prompts and solutions generated locally, difficulty set by digit count.

It lets the tiny config train with real rewards (math-verify on `\\boxed{}` answers) and nothing downloaded.
"""

from __future__ import annotations

import random
from typing import Any

OPS = ("+", "-", "*")
MAX_DIGITS = 100  # beyond it the question counts overflow a float, and no student solves 100-digit sums anyway
MAX_ROWS = 1_000_000  # per split: far more questions than a 2-digit task has, and still minutes to generate


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


def _whole(key: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{key} must be an integer in [{low}, {high}], got {value!r}")


def check_shape(min_digits: Any, max_digits: Any, ops: Any, template: Any) -> tuple[str, ...]:
    """The problem-shaping arguments, checked (ValueError saying what to set); returns `ops` as a tuple. Without this
    an empty `ops` fails deep in random.choice, an unknown op silently multiplies, and a 5000-digit operand
    overflows a float."""
    _whole("min_digits", min_digits, 1, MAX_DIGITS)
    _whole("max_digits", max_digits, 1, MAX_DIGITS)
    if min_digits > max_digits:
        raise ValueError(f"need 1 <= min_digits <= max_digits, got {min_digits}, {max_digits}")
    if not isinstance(ops, (list, tuple)) or not ops or any(op not in OPS for op in ops):
        raise ValueError(f"ops must be a non-empty list of {list(OPS)}, got {ops!r}")
    if not isinstance(template, str):
        raise ValueError(f"template must be a string with a {{question}} field, got {type(template).__name__}")
    try:
        template.format(question="1+2")
    except (KeyError, IndexError, ValueError, AttributeError) as e:
        raise ValueError(
            f"template may use only the field {{question}} (write other braces as {{{{ }}}}); {type(e).__name__}: {e}"
        ) from None
    return tuple(ops)


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
    ops = check_shape(min_digits, max_digits, ops, template)
    _whole("num", num, 0, 20 * MAX_ROWS)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    rng = random.Random(seed)
    rows = []
    for i in range(num):
        digits = min_digits + i % (max_digits - min_digits + 1)
        p = make_problem(rng, digits, ops)
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
    _whole("num_train", num_train, 1, MAX_ROWS)
    _whole("num_eval", num_eval, 0, MAX_ROWS)
    if isinstance(eval_max_share, bool) or not isinstance(eval_max_share, (int, float)) or not 0 < eval_max_share <= 1:
        raise ValueError(f"eval_max_share must be in (0, 1], got {eval_max_share!r}")
    rows = generate(2 * num_train + 10 * num_eval, seed=seed, ops=ops, **kwargs)  # room for skipped repeats
    ops = tuple(ops)  # checked by generate
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
