"""Two-stage ANTLR prediction (SLL, then LL on a syntax error), as rlkd's math-verify workers parse LaTeX, against
latex2sympy's parser as shipped (LL).

    PYTHONPATH=. python benchmarks/latex_two_stage.py [--n 300] [--seed 1]

Parses random LaTeX expressions (numbers, symbols, fractions, radicals, powers, functions, relations, intervals,
unions, sets, matrices) with latex2sympy's own ANTLR parser in both modes, in one process. ANTLR caches prediction
states across parses, so each mode is timed on a fresh set of the same size after a shared warm-up, the baseline
last (it gets the warmer cache: the ratio is, if anything, low). Prints both times, the speed-up, and how many
parse trees differ on the same inputs; the workers' patch (rewards/mathverify/worker.py) is sound only if that is 0.

Parse trees, not sympy results, are compared: latex2sympy's conversion of a few pathological inputs depends on
sympy's cache, i.e. on what the process parsed before, in either mode.
"""

from __future__ import annotations

import argparse
import random
import time

ATOMS = ["1", "2", "3", "10", "0.5", "x", "y", "a", r"\pi", "e", "i", "n", "3.14", "1,000", r"\infty", "-1", "2x"]


def expression(rng: random.Random, depth: int = 0) -> str:
    if depth > 3 or rng.random() < 0.25:
        return rng.choice(ATOMS)
    a, b = expression(rng, depth + 1), expression(rng, depth + 1)
    forms = [
        f"{a}+{b}", f"{a}-{b}", rf"{a}\cdot {b}", f"{a} {b}", rf"\frac{{{a}}}{{{b}}}", rf"\sqrt{{{a}}}",
        rf"\sqrt[3]{{{a}}}", f"({a})", f"{a}^{{{b}}}", rf"\sin({a})", rf"\log_{{{a}}} {b}", f"|{a}|", f"{a}!",
    ]  # fmt: skip
    return rng.choice(forms)


def top_level(rng: random.Random) -> str:
    a, b, c = (expression(rng) for _ in range(3))
    forms = [
        a, f"{a}={b}", f"[{a}, {b})", rf"({a},{b}]\cup[{c},\infty)", rf"\{{{a}, {b}, {c}\}}", rf"{a} \le {b}",
        f"{a}, {b}", rf"\begin{{pmatrix}}{a} & {b}\end{{pmatrix}}", rf"x \in ({a}, {b})",
    ]  # fmt: skip
    return rng.choice(forms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="random expressions per set")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    from antlr4.atn.PredictionMode import PredictionMode
    from latex2sympy2_extended.latex2sympy2 import _Latex2Sympy

    converter = _Latex2Sympy()

    def tree(text: str, mode) -> str | None:
        """The parse tree in `mode`, or None on a syntax error (latex2sympy's error listener raises)."""
        p = converter.create_parser(text)
        p._interp.predictionMode = mode
        try:
            return p.math().toStringTree(recog=p)
        except Exception:
            return None

    def two_stage(text: str) -> str | None:
        sll = tree(text, PredictionMode.SLL)
        return sll if sll is not None else tree(text, PredictionMode.LL)

    def parse_all(texts: list[str], parse) -> tuple[list[str | None], float]:
        start = time.perf_counter()
        return [parse(t) for t in texts], time.perf_counter() - start

    rng = random.Random(args.seed)
    warm_up, inputs, others = ([top_level(rng) for _ in range(args.n)] for _ in range(3))
    parse_all(warm_up, lambda t: tree(t, PredictionMode.LL))
    fast, fast_s = parse_all(inputs, two_stage)
    _, ll_s = parse_all(others, lambda t: tree(t, PredictionMode.LL))
    baseline, _ = parse_all(inputs, lambda t: tree(t, PredictionMode.LL))

    errors = baseline.count(None)
    differ = sum(a != b for a, b in zip(baseline, fast))
    print(f"{args.n} expressions per set (seed {args.seed}); {args.n - errors} parse, {errors} are syntax errors")
    print(f"latex2sympy's parser as shipped, LL (baseline): {ll_s:7.2f} s")
    print(f"two-stage, SLL then LL (rlkd workers):          {fast_s:7.2f} s")
    print(f"speed-up: {ll_s / fast_s:.2f}x   differing parse trees: {differ} of {args.n}")


if __name__ == "__main__":
    main()
