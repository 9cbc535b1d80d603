"""Where a student is right and where it is not: held-out greedy accuracy and pass@k per problem shape (operand
digit counts and op, e.g. `2-2` = two-digit minus two-digit) and reasoning mode, for the demo's arithmetic task.

    PYTHONPATH=. python benchmarks/eval_by_shape.py runs/demo/sft runs/demo/grpo          # SFT student, RL student
    PYTHONPATH=. python benchmarks/eval_by_shape.py runs/demo/sft --samples 8 --overrides key=value  # pass@8 too

`rlkd eval` reports one number per mode; this splits it, so a change can be traced to the problems it moved (the
per-digit counts in docs/sft-eval.md). Everything goes through rlkd's own route: the config's held-out rows
(rlkd.commands.eval.eval_rows), the one offline generate, the run's own accuracy reward, greedy decoding for
accuracy and the run's sampling settings for pass@k. Prints `right/n` per shape (and `any right in k/n`).
"""

from __future__ import annotations

import argparse
from collections import Counter


def shape(question: str) -> str:
    """'47+8' → '2+1', read by the demo teacher's own parser."""
    from rlkd.demo.teacher import parse_question

    a, op, b = parse_question(question)
    return f"{len(str(a))}{op}{len(str(b))}"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="+", help="model dirs, e.g. runs/demo/sft runs/demo/grpo")
    p.add_argument("--config", default="configs/tiny-cpu.yaml")
    p.add_argument("--samples", type=int, default=0, help="k samples per problem for pass@k (0: greedy only)")
    p.add_argument("--overrides", nargs="*", default=[], help="config overrides (the demo's data shape)")
    args = p.parse_args(argv)
    import logging

    logging.disable(logging.WARNING)
    from rlkd.commands.eval import accuracy_reward_name, eval_rows
    from rlkd.config import load_config
    from rlkd.generation.offline import Sampling, open_generator
    from rlkd.training.rewards import close_rewards, resolve_reward

    cfg = load_config(args.config, args.overrides)
    rows_by_mode = eval_rows(cfg)
    accuracy = resolve_reward(cfg, accuracy_reward_name(cfg))
    try:
        for path in args.models:
            generator = open_generator(cfg, path, batch_size=cfg.eval.batch_size)
            try:
                for mode, rows in rows_by_mode.items():
                    prompts, solutions = list(rows["prompt"]), list(rows["solution"])
                    thinking = list(rows["thinking"])
                    greedy = generator.generate(prompts, Sampling.from_config(cfg.generation, greedy=True), 0)
                    right = accuracy([g[0][0] for g in greedy], solution=solutions, thinking=thinking)
                    any_right = [0.0] * len(prompts)
                    if args.samples:
                        k = args.samples
                        groups = generator.generate(prompts, Sampling.from_config(cfg.generation, n=k), cfg.eval.seed)
                        flat = accuracy(
                            [t for g in groups for t, _ in g],
                            solution=[s for s in solutions for _ in range(k)],
                            thinking=[t for t in thinking for _ in range(k)],
                        )
                        any_right = [float(any(v == 1.0 for v in flat[i : i + k])) for i in range(0, len(flat), k)]
                    n, ok, anyk = Counter(), Counter(), Counter()
                    for question, r, a in zip(rows["question"], right, any_right):
                        n[shape(question)] += 1
                        ok[shape(question)] += r == 1.0
                        anyk[shape(question)] += a
                    cells = [
                        f"{s} {ok[s]}/{n[s]}" + (f" (any of {args.samples}: {int(anyk[s])})" if args.samples else "")
                        for s in sorted(n)
                    ]
                    print(f"{path} [{mode}] {sum(ok.values())}/{sum(n.values())}: " + "  ".join(cells), flush=True)
            finally:
                generator.close()
    finally:
        close_rewards([accuracy])


if __name__ == "__main__":
    main()
