"""Throughput of rlkd's accuracy_reward against trl.rewards.accuracy_reward on one realistic GRPO batch.

    PYTHONPATH=. python benchmarks/rewards_throughput.py [--prompts 64] [--generations 16] [--workers N]

The batch: `--prompts` problems × `--generations` answer-only completions (no think tags; the prompts say
"detailed thinking off", so rlkd scores the whole text like TRL does). Gold answers are LaTeX fractions, radicals,
polynomials, intervals and sets, plus integers and one unparseable solution (None from both). Within a group the
final answers repeat the way sampled groups do: a per-prompt accuracy (5-95%), the right answer mostly (85%) in its
usual surface form, wrong answers mostly (80%) the same few mistakes with Zipf-like frequencies and otherwise
one-offs, and one answer phrasing per group (90%) with occasional variants. It prints the distinct pairs per batch.

Both rewards are warmed up on other batches first (imports, sympy and parser caches, rlkd's worker start-up), then
timed on the same inputs in the same run, for several rounds on fresh batches, alternating which goes first (the
machine may be shared). Prints both throughputs, the ratio (baseline: TRL), CPU time (rlkd's includes its worker
processes) and the count of differing verdicts.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time


def _fraction(rng: random.Random):
    b = rng.choice([3, 4, 5, 6, 7, 8, 9, 11, 12])
    a = rng.choice([n for n in range(1, 3 * b) if n % b])
    from math import gcd

    a, b = a // gcd(a, b), b // gcd(a, b)
    right = [rf"\frac{{{a}}}{{{b}}}", rf"\dfrac{{{a}}}{{{b}}}", rf"\frac{{{2 * a}}}{{{2 * b}}}", f"{a}/{b}"]
    wrong = [rf"\frac{{{b}}}{{{a}}}", rf"\frac{{{a + 1}}}{{{b}}}", rf"\frac{{{a}}}{{{b + 1}}}"]
    return rf"$\frac{{{a}}}{{{b}}}$", right, wrong


def _radical(rng: random.Random):
    k, m = rng.randint(2, 6), rng.choice([2, 3, 5, 6, 7])
    right = [rf"{k}\sqrt{{{m}}}", rf"\sqrt{{{k * k * m}}}", rf"{k} \sqrt {m}"]
    wrong = [rf"{m}\sqrt{{{k}}}", rf"{k + 1}\sqrt{{{m}}}", rf"\sqrt{{{k * m}}}"]
    if rng.random() < 0.5:  # a radical over an integer, as in trigonometry answers
        right = [rf"\frac{{{k}\sqrt{{{m}}}}}{{{k + 1}}}", rf"\frac{{\sqrt{{{k * k * m}}}}}{{{k + 1}}}"]
        wrong = [rf"\frac{{{k + 1}\sqrt{{{m}}}}}{{{k}}}", rf"\frac{{{k}}}{{{k + 1}}}"]
    return f"${right[0]}$", right, wrong


def _polynomial(rng: random.Random):
    a, b = rng.sample([n for n in range(-6, 7) if n], 2)
    s, p = -(a + b), a * b

    def poly(s_: int, p_: int) -> str:
        return f"x^2 {'+' if s_ >= 0 else '-'} {abs(s_)}x {'+' if p_ >= 0 else '-'} {abs(p_)}"

    right = [poly(s, p), f"(x {'-' if a > 0 else '+'} {abs(a)})(x {'-' if b > 0 else '+'} {abs(b)})", poly(s, p)]
    wrong = [poly(-s, p), poly(s, -p), f"x^2 + {abs(p)}"]
    return f"${right[0]}$", right, wrong


def _interval(rng: random.Random):
    lo, hi = sorted(rng.sample(range(-9, 10), 2))
    if rng.random() < 0.3:
        right = [rf"(-\infty, {lo}] \cup [{hi}, \infty)", rf"(-\infty,{lo}]\cup[{hi},\infty)"]
        wrong = [rf"(-\infty, {lo}) \cup ({hi}, \infty)", f"[{lo}, {hi}]"]
    else:
        right = [f"[{lo}, {hi})", f"[{lo},{hi})"]
        wrong = [f"({lo}, {hi})", f"[{lo}, {hi}]", f"({lo}, {hi}]"]
    return f"${right[0]}$", right, wrong


def _set(rng: random.Random):
    xs = sorted(rng.sample(range(-5, 12), rng.randint(2, 4)))
    fmt = lambda ys: r"\{" + ", ".join(map(str, ys)) + r"\}"  # noqa: E731
    right = [fmt(xs), fmt(list(reversed(xs))), fmt(xs).replace(" ", "")]
    wrong = [fmt(xs[:-1]), fmt([*xs, xs[-1] + 2]), fmt([x + 1 for x in xs])]
    return f"${right[0]}$", right, wrong


def _integer(rng: random.Random):
    n = rng.randint(2, 999)
    return str(n), [str(n), f"{n}.0"], [str(n + 1), str(n - 1), str(2 * n)]


KINDS = (_fraction, _radical, _polynomial, _interval, _set, _integer)
PHRASES = ("The answer is $\\boxed{{{}}}$.", "$\\boxed{{{}}}$", "Therefore, the final answer is $\\boxed{{{}}}$.")


def make_batch(prompts: int, generations: int, seed: int) -> tuple[list, list[str], list[str]]:
    """(chat prompts, solutions, completion texts), `generations` per prompt, in TRL's repeated order."""
    rng = random.Random(seed)
    chats, solutions, texts = [], [], []
    for i in range(prompts):
        if i == prompts // 2:  # one solution math-verify cannot parse: both rewards must skip it (None)
            gold, right, wrong = "see the proof in the appendix", ["x"], ["y"]
        else:
            gold, right, wrong = KINDS[i % len(KINDS)](rng)
        accuracy = rng.uniform(0.05, 0.95)  # per-prompt difficulty
        style = rng.randrange(len(PHRASES))  # a policy phrases its answer line much the same way every time
        chat = [{"role": "system", "content": "detailed thinking off"}, {"role": "user", "content": f"Problem {i}"}]
        for _ in range(generations):
            if rng.random() < accuracy:  # right: mostly the usual form, sometimes an equivalent one
                answer = right[0] if rng.random() < 0.85 else rng.choice(right[1:] or right)
            elif rng.random() < 0.8:  # wrong: the same few mistakes recur (Zipf-like)
                answer = rng.choices(wrong, weights=[1 / (k + 1) for k in range(len(wrong))])[0]
            else:  # and a long tail of one-off wrong answers
                answer = f"{right[0]} + {rng.randint(1, 99)}"
            phrase = PHRASES[style] if rng.random() < 0.9 else rng.choice(PHRASES)
            chats.append(chat)
            solutions.append(gold)
            texts.append(phrase.format(answer))
    return chats, solutions, texts


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of running processes (Linux /proc; 0.0 elsewhere)."""
    total = 0.0
    for pid in pids:
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--generations", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds, each on a fresh batch")
    parser.add_argument("--workers", type=int, default=None, help="rlkd worker processes (default: one per core)")
    parser.add_argument("--timeout", type=float, default=5.0, help="rlkd's per-sample time limit (s)")
    args = parser.parse_args()

    from trl.rewards import accuracy_reward as trl_accuracy

    from rewards.accuracy import make_accuracy_reward

    rlkd_accuracy = make_accuracy_reward(timeout=args.timeout, workers=args.workers)
    pool = rlkd_accuracy.verifier.pool

    def run_trl(batch):
        chats, solutions, texts = batch
        return trl_accuracy([[{"role": "assistant", "content": t}] for t in texts], solutions)

    def run_rlkd(batch):
        chats, solutions, texts = batch
        return rlkd_accuracy([[{"role": "assistant", "content": t}] for t in texts], solutions, prompts=chats)

    def timed(fn, batch, pids):
        cpu0, t0 = time.process_time() + _cpu_seconds(pids()), time.perf_counter()
        scores = fn(batch)
        return scores, time.perf_counter() - t0, time.process_time() + _cpu_seconds(pids()) - cpu0

    # Warm-up on batches no round uses: imports, sympy and parser caches, rlkd's worker start-up.
    t0 = time.perf_counter()
    run_rlkd(make_batch(args.prompts // 4 or 1, args.generations, seed=10_000))
    cold_s = time.perf_counter() - t0
    warm = make_batch(args.prompts, args.generations, seed=10_001)
    run_rlkd(warm)
    run_trl(warm)

    n = args.prompts * args.generations
    totals = {"trl": [0.0, 0.0], "rlkd": [0.0, 0.0]}
    ratios, differ, distinct, skipped = [], 0, 0, 0
    for r in range(args.rounds):
        batch = make_batch(args.prompts, args.generations, seed=r)
        distinct += len(set(zip(batch[1], batch[2])))
        order = [("trl", run_trl, lambda: []), ("rlkd", run_rlkd, lambda: pool.pids)]
        results = {}
        for name, fn, pids in order if r % 2 == 0 else order[::-1]:  # alternate, so load drift hits both
            results[name] = timed(fn, batch, pids)
            totals[name][0] += results[name][1]
            totals[name][1] += results[name][2]
        differ += sum(a != b for a, b in zip(results["trl"][0], results["rlkd"][0]))
        skipped += sum(s is None for s in results["trl"][0])
        ratios.append(results["trl"][1] / results["rlkd"][1])
        print(
            f"round {r}: trl {results['trl'][1]:6.3f} s   rlkd {results['rlkd'][1]:6.3f} s   ratio {ratios[-1]:.2f}x"
        )
    rlkd_accuracy.verifier.close()

    samples = n * args.rounds
    (trl_s, trl_cpu), (rlkd_s, rlkd_cpu) = totals["trl"], totals["rlkd"]
    print(
        f"batch: {args.prompts} prompts x {args.generations} completions = {n} samples; {args.rounds} rounds, "
        f"{distinct / args.rounds:.0f} distinct (solution, completion) pairs per batch, {skipped} skipped (None)"
    )
    print(
        f"rlkd: {pool.size} workers, time limit {args.timeout:g} s per sample, first call incl. worker start-up "
        f"{cold_s:.2f} s"
    )
    print(f"trl.rewards.accuracy_reward (baseline): {samples / trl_s:8.1f} samples/s   cpu {trl_cpu:6.2f} s")
    print(
        f"rlkd accuracy_reward:                   {samples / rlkd_s:8.1f} samples/s   cpu {rlkd_cpu:6.2f} s "
        "(trainer + workers)"
    )
    print(
        f"ratio rlkd/trl: {trl_s / rlkd_s:.2f}x overall, median round {statistics.median(ratios):.2f}x; "
        f"cpu-time ratio {trl_cpu / rlkd_cpu:.2f}x; differing verdicts: {differ} of {samples}"
    )


if __name__ == "__main__":
    main()
