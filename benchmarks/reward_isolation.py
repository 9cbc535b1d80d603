"""What isolating a plug-in reward costs: a tiny GRPO step with the reward in its own worker process, against the
same step with the same reward in the trainer's process (`isolate: false`, the baseline), in the same run.

    PYTHONPATH=. python benchmarks/reward_isolation.py [--rounds 4] [--steps 8]

The run: the tiny student on the tiny config's task (accuracy + format + the docs' `brevity` plug-in, 2 prompts x 4
generations of 24 tokens per step, the shape of tests/conftest.py's tiny_config), trained `--steps` steps per arm
and round, the arms alternating which goes first each round, the same seed for both (so both train on the same
completions). The first step of every run is dropped (warm-up). Prints the median step time of each arm and their
ratio, and — the part of a step isolation actually changes — the reward call itself timed on its own, isolated vs
in process, on that batch and on the demo's batch (128 completions of 48 characters).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

PLUGIN = """
from rewards import register_reward
from rewards.text import completion_text


@register_reward("brevity")
def make_brevity(max_chars: int = 200):
    def brevity(completions, **kwargs):
        return [1.0 if len(completion_text(c)) <= max_chars else 0.0 for c in completions]

    return brevity
"""


def _raw(model_dir: Path, out: Path, steps: int, isolate: bool) -> dict:
    return {
        "model": {"name_or_path": str(model_dir)},
        "data": {
            "generator": "arithmetic",
            "generator_args": {"num_train": 256, "num_eval": 16, "ops": ["+", "-"], "template": "{question}="},
            "thinking": "mixed",
        },
        "plugins": ["bench_brevity"],
        "rewards": [
            {"name": "accuracy", "weight": 1.0},
            {"name": "format", "weight": 0.5},
            {"name": "brevity", "weight": 0.2, "isolate": isolate},
        ],
        "generation": {"max_completion_length": 24},
        "wandb": {"mode": "disabled"},
        "grpo": {
            "output_dir": str(out),
            "max_steps": steps,
            "per_device_train_batch_size": 8,
            "num_generations": 4,
            "learning_rate": 5e-5,
            "logging_steps": 1,
            "save_strategy": "no",
            "seed": 0,
            "dataloader_num_workers": 0,
            "disable_tqdm": True,
        },
    }


def step_times(model_dir: Path, out: Path, steps: int, isolate: bool) -> list[float]:
    """Seconds per optimizer step of one training run, the first (warm-up) step dropped."""
    from transformers import TrainerCallback
    from transformers.trainer_callback import PrinterCallback

    from rlkd.config import parse_config
    from rlkd.training.builder import build_trainer, prepare_run
    from rlkd.training.rewards import close_rewards

    times: list[float] = []

    class Clock(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            self.start = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            times.append(time.perf_counter() - self.start)

    inputs = prepare_run(parse_config(_raw(model_dir, out, steps, isolate)))
    assert bool(getattr(inputs.reward_funcs[2], "isolated", False)) == isolate
    trainer = build_trainer(inputs, callbacks=[Clock()])
    trainer.remove_callback(PrinterCallback)  # disable_tqdm prints every log dict otherwise
    trainer.train()
    close_rewards(trainer.reward_funcs)
    return times[1:]


def call_times(isolate: bool, n: int, chars: int, calls: int) -> list[float]:
    """Seconds per call of the brevity reward as TRL calls it (every column by keyword), on n completions."""
    from rewards import get_reward

    fn = get_reward("brevity", isolate=isolate, max_chars=200)
    batch = {
        "completions": ["7+5=<think>\n" + "x" * (chars - 14) + "</think>12"] * n,
        "prompts": [[{"role": "system", "content": "detailed thinking on"}, {"role": "user", "content": "7+5="}]] * n,
        "completion_ids": [list(range(chars))] * n,
        "solution": ["12"] * n,
        "thinking": [True] * n,
        "log_metric": lambda name, value: None,
    }
    fn(**batch)  # warm
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn(**batch)
        times.append(time.perf_counter() - start)
    if hasattr(fn, "close"):
        fn.close()
    return times


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--calls", type=int, default=200)
    args = p.parse_args()
    import logging

    logging.disable(logging.WARNING)
    from rlkd.demo.tiny import save_tiny_model

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "bench_brevity.py").write_text(PLUGIN)
        sys.path.insert(0, str(tmp))
        model_dir = save_tiny_model(tmp / "tiny")
        arms: dict[bool, list[float]] = {True: [], False: []}
        for r in range(args.rounds):
            for isolate in (True, False) if r % 2 == 0 else (False, True):
                arms[isolate] += step_times(model_dir, tmp / f"run-{r}-{isolate}", args.steps, isolate)
        iso, base = statistics.median(arms[True]), statistics.median(arms[False])
        print(f"tiny GRPO step, median of {len(arms[True])} steps per arm ({args.rounds} rounds x {args.steps - 1})")
        print(f"  in process (baseline): {base * 1e3:8.1f} ms")
        print(
            f"  isolated             : {iso * 1e3:8.1f} ms   ratio {iso / base:.3f} ({(iso / base - 1) * 100:+.1f}%)"
        )
        for n, chars in ((8, 24), (128, 48)):
            c_iso = statistics.median(call_times(True, n, chars, args.calls))
            c_base = statistics.median(call_times(False, n, chars, args.calls))
            print(
                f"reward call, {n} completions of {chars} chars, median of {args.calls}: in process "
                f"{c_base * 1e3:.3f} ms, isolated {c_iso * 1e3:.3f} ms, overhead {(c_iso - c_base) * 1e3:.3f} ms "
                f"= {(c_iso - c_base) / base * 100:.2f}% of the median tiny step"
            )


if __name__ == "__main__":
    main()
