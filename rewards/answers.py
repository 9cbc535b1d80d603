"""Plain-number answers, as people (and reasoning-gym, GSM8K-style data) write them: `42`, `42.0`, `+42`, `1,692`,
`1.7574418454559584e-22`, or a number at the end of a sentence.

math-verify extracts LaTeX answers (`\\boxed{42}`, `$42$`); a bare `42` gives it nothing to extract, so it scores 0,
and it reads a gold in scientific notation as its mantissa (`1.7574418454559584e-22` → 1.757…, so the true answer
scores 0 and a wrong one 1). These helpers read numbers exactly (decimal.Decimal, no float rounding), so the
accuracy reward can compare numbers by value and can tell which golds math-verify would misread.

    parse_number("1,692") == Decimal(1692);  parse_number("1/2") is None    # a whole string that is one number
    answer_number("so the total is 1,692.") == Decimal(1692)             # the number an answer gives
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

# A decimal number: optional sign, digits with optional thousands commas (groups of exactly three), an optional
# fraction and exponent. "1,2" is two numbers (a list), "1,692" is one.
_NUMBER = r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][+-]?\d+)?|[+-]?\.\d+(?:[eE][+-]?\d+)?"
# In running text a number must not continue a word or another number ("v2", "3-5" holds 3 and 5, not -5).
_IN_TEXT = re.compile(rf"(?<![\w.])(?:{_NUMBER})(?![\w])")
_WHOLE = re.compile(rf"\s*({_NUMBER})\s*\.?\s*")
_SCIENTIFIC = re.compile(r"\s*[+-]?(?:\d+\.?\d*|\.\d+)[eE][+-]?\d+\s*")
_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
_LATEX_MARKERS = ("\\boxed", "$", "\\(", "\\[")


def _to_decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _unwrap(text: str) -> str:
    """A gold written as `$42$` or `\\boxed{42}` is the number inside."""
    text = text.replace("\u2212", "-").strip()  # a typographic minus
    if len(text) > 1 and text.startswith("$") and text.endswith("$"):
        text = text.strip("$").strip()
    inner = last_boxed(text)
    return inner.strip() if inner is not None and text.startswith("\\boxed") else text


def parse_number(text: str) -> Decimal | None:
    """The value of a string that is exactly one decimal number (a trailing full stop allowed), else None."""
    m = _WHOLE.fullmatch(_unwrap(text))
    return _to_decimal(m.group(1)) if m else None


def is_scientific(text: str) -> bool:
    """A number in scientific notation, which math-verify parses as its mantissa."""
    return _SCIENTIFIC.fullmatch(_unwrap(text)) is not None


def last_number(text: str) -> Decimal | None:
    found = None
    for m in _IN_TEXT.finditer(text.replace("\u2212", "-")):
        found = m.group(0)
    return _to_decimal(found) if found is not None else None


def last_boxed(text: str) -> str | None:
    """The content of the last `\\boxed{...}` (braces balanced), or None."""
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    depth, begin = 0, start + len("\\boxed{")
    for i in range(begin, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            if depth == 0:
                return text[begin:i]
            depth -= 1
    return None


def answer_number(answer: str) -> Decimal | None:
    """The number an answer gives: the last number of its last `\\boxed{}` or `<answer>…</answer>` if it has one,
    else the last number in it."""
    boxed = last_boxed(answer)
    if boxed is not None:
        return last_number(boxed)
    tags = _ANSWER_TAG.findall(answer)
    return last_number(tags[-1] if tags else answer)


def has_latex(answer: str) -> bool:
    """Whether math-verify could find a LaTeX answer here (a `\\boxed{}` or math delimiters)."""
    return any(marker in answer for marker in _LATEX_MARKERS)


def numbers_equal(a: Decimal, b: Decimal, rel_tol: float = 0.0) -> bool:
    """Equal by value (42 == 42.0 == 4.2e1); with `rel_tol`, within that relative tolerance."""
    if a == b:
        return True
    if rel_tol <= 0:
        return False
    return abs(a - b) <= Decimal(str(rel_tol)) * max(abs(a), abs(b))
