"""The demo's task as rlkd sees it: a generator of arithmetic splits that is also a teacher for SFT.

Registered under `data.generator: arithmetic` through the `rlkd.generators` entry point (pyproject.toml), so the
core finds it the way it finds any user's task, by name.
"""

from __future__ import annotations

from typing import Any

from rlkd.demo import arithmetic, teacher

SFT_SEED_OFFSET = 1_000  # SFT problems use their own random stream, apart from the GRPO train split's
GENERATOR_KEYS = ("min_digits", "max_digits", "ops", "template")  # the generator_args that shape one problem


class ArithmeticTask:
    """`splits` → rlkd.demo.arithmetic.generate_splits; `sft_problems` and `respond` → the symbolic teacher."""

    def splits(self, **args: Any) -> dict[str, list[dict[str, Any]]]:
        return arithmetic.generate_splits(**args)

    def sft_problems(self, args: dict[str, Any], eval_rows: list[dict[str, Any]], num: int | None) -> list[dict]:
        """SFT problems: the generator's distribution with a seed of their own, skipping every held-out question, so
        an eval after SFT measures generalisation, not recall."""
        held_out = {row["question"] for row in eval_rows}
        wanted = num or args.get("num_train", 256)
        shape = {k: args[k] for k in GENERATOR_KEYS if k in args}
        seed = args.get("seed", 0) + SFT_SEED_OFFSET
        problems: list[dict[str, Any]] = []
        while len(problems) < wanted:  # top up when held-out questions were skipped
            batch = arithmetic.generate(2 * wanted, seed=seed, **shape)
            problems += [p for p in batch if p["question"] not in held_out][: wanted - len(problems)]
            seed += 1
        return problems

    def respond(self, row: dict[str, Any], thinking: bool) -> str:
        return teacher.respond(row["question"], thinking)


ARITHMETIC = ArithmeticTask()
