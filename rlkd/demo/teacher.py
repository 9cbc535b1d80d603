"""The demo task's symbolic teacher: step-by-step arithmetic traces for both reasoning modes.

Sequence-level distillation needs a teacher whose reasoning is always right; for integer arithmetic a few lines of
Python are that teacher. For each problem it writes the two responses the Llama-Nemotron recipe pairs for one prompt:

    thinking on : <think>7+8=15,5\\n4+3+1=8,85\\n</think>\\boxed{85}
    thinking off: \\boxed{85}

Why this trace shape: the student is a byte-level model (one token per character) with a completion budget of
~48–96 tokens, so traces are compact, and every step is a short local computation a 2-layer model can learn:
- add/sub go column by column from the right: `x+y+carry=s` (`x-y-borrow=s`, s may be negative), then `,P` with the
  answer digits so far, so the final answer is a copy of the last P rather than a re-assembly of scattered digits;
- a negative difference is written as `-(b-a)` first, then the columns of b-a;
- mul writes one partial product per digit of the multiplier, then their sum (one line per digit keeps a 2×2-digit
  product under ~60 characters).
"""

from __future__ import annotations

import re

from rlkd.demo.tiny import THINK_CLOSE, THINK_OPEN

_QUESTION = re.compile(r"^\s*(\d+)\s*([+\-*])\s*(\d+)\s*$")


def parse_question(question: str) -> tuple[int, str, int]:
    """'47+38' → (47, '+', 38). Only non-negative integer operands and + - * are taught."""
    m = _QUESTION.match(question)
    if not m:
        raise ValueError(f"the arithmetic teacher cannot read {question!r}; expected e.g. '47+38', '9-12' or '12*7'")
    return int(m.group(1)), m.group(2), int(m.group(3))


def _digits(n: int, width: int) -> list[int]:
    """Digits of n, least significant first, zero-padded to `width`."""
    return [(n // 10**i) % 10 for i in range(width)]


def add_steps(a: int, b: int) -> list[str]:
    width = max(len(str(a)), len(str(b)))
    steps, carry, partial = [], 0, ""
    for i, (x, y) in enumerate(zip(_digits(a, width), _digits(b, width))):
        s = x + y + carry
        last = i == width - 1
        partial = (str(s) if last else str(s % 10)) + partial  # the top column keeps its carry digit
        steps.append(f"{x}+{y}{f'+{carry}' if carry else ''}={s},{partial}")
        carry = s // 10
    return steps


def sub_steps(a: int, b: int) -> list[str]:
    if a < b:
        return [f"-({b}-{a})", *sub_steps(b, a)]
    width = len(str(a))
    steps, borrow, partial = [], 0, ""
    for x, y in zip(_digits(a, width), _digits(b, width)):
        s = x - y - borrow
        partial = str(s % 10) + partial
        steps.append(f"{x}-{y}{f'-{borrow}' if borrow else ''}={s},{partial}")
        borrow = int(s < 0)
    return steps


def mul_steps(a: int, b: int) -> list[str]:
    partials = []
    steps = []
    for i, d in enumerate(_digits(b, len(str(b)))):
        shifted = d * 10**i
        partials.append(a * shifted)
        steps.append(f"{a}*{shifted}={a * shifted}")
    if len(partials) > 1:
        steps.append(f"{'+'.join(map(str, partials))}={a * b}")
    return steps


_STEPS = {"+": add_steps, "-": sub_steps, "*": mul_steps}
_VALUE = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b}


def solve(a: int, op: str, b: int, thinking: bool) -> str:
    """The teacher's response: reasoning then the boxed answer (thinking on), or the boxed answer alone (off)."""
    answer = f"\\boxed{{{_VALUE[op](a, b)}}}"
    if not thinking:
        return answer
    lines = "".join(f"{line}\n" for line in _STEPS[op](a, b))
    return f"{THINK_OPEN}{lines}{THINK_CLOSE}{answer}"


def respond(question: str, thinking: bool) -> str:
    """`solve` for a question string such as '47+38'."""
    a, op, b = parse_question(question)
    return solve(a, op, b, thinking)
