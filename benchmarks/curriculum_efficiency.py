"""Does the curriculum pay? Arms of the demo's GRPO stage at equal generated completion tokens, several seeds each,
held-out greedy accuracy per reasoning mode along the way.

    PYTHONPATH=. python benchmarks/curriculum_efficiency.py --out runs/bench-curriculum     # ~1-2 h on 2 idle cores

Arms (the GRPO stage's overrides; everything else is the demo's: configs/tiny-cpu.yaml):
- vanilla: TRL's own sampling over every train prompt (RepeatSampler; no pass rates, no filter);
- paper: the Llama-Nemotron recipe, the pass-rate filter (drop >= 0.75) and the Gaussian curriculum;
- filter+gaussian+mask: the demo's filter (also never-solved prompts) and curriculum, zero-variance groups masked;
- filter+gaussian+refill: the same with DAPO dynamic sampling that refills the batch;
- online+refill+skip: live pass rates, refill, and GRESO-style skipping of settled prompts.
All arms start from the demo's SFT student (stages 1-4 of the demo, built once and cached, with its pass rates).
Vanilla runs the demo's step count; every other arm stops at vanilla's generated completion tokens (the cost that
refill raises per step), so the comparison is at equal tokens. Every `--eval-every` steps a callback measures
greedy accuracy per mode on a held-out subset (problems in neither SFT nor RL data).

Prints, per arm: final held-out accuracy per mode (mean and range over seeds), the completion tokens and wall time
each arm needs to reach vanilla's final mean accuracy (and their ratio to vanilla's), the zero-variance fraction of
the trained batches, generated tokens per informative trained group, and the curriculum's overhead (sampler, table,
refill bookkeeping and skipping, timed inside the hooks) as a share of step time. Writes results.json and
curriculum_efficiency.png (per-arm mean with a band over seeds) to --out.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

ARMS = {
    "vanilla": ["curriculum.name=uniform"],
    "paper": ["curriculum.min_pass_rate=null"],
    "filter+gaussian+mask": ["curriculum.dynamic_sampling=mask"],
    "filter+gaussian+refill": ["curriculum.dynamic_sampling=refill"],
    "online+refill+skip": [
        "curriculum.name=online",
        "curriculum.dynamic_sampling=refill",
        "curriculum.skip_settled=true",
    ],
}
MODES = ("on", "off")


def arm_config(config: str, overrides: list[str], name: str, seed: int, base: Path, run_dir: Path):
    """The GRPO stage's config for one arm and seed (demo_seeds.arm_config); vanilla drops the pass rates and
    samples every prompt like TRL."""
    from demo_seeds import arm_config as demo_arm_config

    return demo_arm_config(config, overrides, base, ARMS[name], seed, run_dir, uniform_keeps_filter=False)


def held_out(cfg, n: int) -> dict:
    """mode -> (prompts, solutions, thinking) for the first `n` held-out problems, asked in that mode."""
    from rlkd.commands.eval import eval_rows

    rows = eval_rows(cfg)
    out = {}
    for mode, ds in rows.items():
        ds = ds.select(range(min(n, len(ds))))
        out[mode] = (
            list(ds["prompt"]),
            list(ds["solution"]),
            list(ds["thinking"]) if "thinking" in ds.column_names else None,
        )
    return out


def greedy_accuracy(model, tokenizer, problems: dict, accuracy, max_new_tokens: int) -> dict[str, float]:
    from rlkd.commands.eval import mean_valid
    from rlkd.generation.offline import Sampling, TransformersGenerator

    gen = TransformersGenerator(model, tokenizer, batch_size=256)
    sampling = Sampling(greedy=True, max_new_tokens=max_new_tokens)
    scores = {}
    for mode, (prompts, solutions, thinking) in problems.items():
        texts = [group[0][0] for group in gen.generate(prompts, sampling, seed=0)]
        scores[mode] = mean_valid(accuracy(texts, solution=solutions, prompts=prompts, thinking=thinking))
    return scores


def train_arm(cfg, problems: dict, accuracy, eval_every: int, token_budget: float | None) -> dict:
    """One GRPO run through rlkd's own builder; a callback evaluates and stops the run at the token budget."""
    from transformers import TrainerCallback

    from rlkd.training.builder import build_trainer, prepare_run
    from rlkd.training.rewards import close_rewards

    inputs = prepare_run(cfg)
    curve: list[dict] = []
    max_new = cfg.generation.max_completion_length

    class Watch(TrainerCallback):
        trainer = None

        def on_step_end(self, args, state, control, **kwargs):
            tokens = self.trainer.completion_tokens
            over = token_budget is not None and tokens >= token_budget
            if state.global_step % eval_every == 0 or over or state.global_step >= state.max_steps:
                t0 = time.perf_counter()
                acc = greedy_accuracy(kwargs["model"], inputs.tokenizer, problems, accuracy, max_new)
                self.eval_seconds += time.perf_counter() - t0
                curve.append({"step": state.global_step, "tokens": tokens, "wall": self.wall(), **acc})
            if over:
                control.should_training_stop = True

        def wall(self):
            return time.perf_counter() - self.start - self.eval_seconds

    watch = Watch()
    watch.eval_seconds = 0.0
    trainer = build_trainer(inputs, callbacks=[watch])
    watch.trainer = trainer
    watch.start = time.perf_counter()
    curve.append(
        {
            "step": 0,
            "tokens": 0,
            "wall": 0.0,
            **greedy_accuracy(inputs.model, inputs.tokenizer, problems, accuracy, max_new),
        }
    )
    watch.start, watch.eval_seconds = time.perf_counter(), 0.0
    trainer.train()
    close_rewards(trainer.reward_funcs)
    logs = [h for h in trainer.state.log_history if "step_time" in h]
    runtime = inputs.curriculum
    sampler = runtime.sampler
    overhead = runtime.hook_seconds + (sampler.decide_seconds if sampler is not None else 0.0)
    groups = cfg.grpo["per_device_train_batch_size"] / trainer.num_generations
    signal = batch_signal(logs, groups)
    return {
        "curve": curve,
        "steps": trainer.state.global_step,
        "completion_tokens": trainer.completion_tokens,
        "train_seconds": watch.wall(),
        "step_seconds": sum(h["step_time"] for h in logs),
        "overhead_seconds": overhead,
        **signal,
        "tokens_per_informative_group": trainer.completion_tokens / max(signal["informative_groups"], 1e-9),
    }


def batch_signal(logs: list[dict], groups: float) -> dict:
    """Zero-variance groups among those drawn and those trained, and the informative groups trained, from the
    per-step logs. Refill logs its trained groups; masking takes its zero-variance groups out of the batch (they are
    not trained, and the batch shrinks); without either, zero-variance groups are trained and carry no signal."""
    drawn, trained, informative = [], [], 0.0
    for h in logs:
        zero_drawn = h.get("curriculum/frac_zero_variance_groups", 0.0)
        if "dynamic_sampling/trained_zero_variance_frac" in h:
            n, zero = h["dynamic_sampling/trained_groups"], h["dynamic_sampling/trained_zero_variance_frac"]
        elif h.get("curriculum/frac_masked", 0.0) > 0:
            n, zero = groups * (1 - h["curriculum/frac_masked"]), 0.0
        else:
            n, zero = groups, zero_drawn
        drawn.append(zero_drawn)
        trained.append(zero)
        informative += n * (1 - zero)
    return {
        "zero_variance_drawn": sum(drawn) / max(1, len(drawn)),
        "zero_variance_trained": sum(trained) / max(1, len(trained)),
        "informative_groups": informative,
    }


def first_reach(curves: list[list[dict]], mode: str, target: float, key: str) -> float | None:
    """The `key` (tokens or wall seconds) at which the seed-mean curve first reaches `target` in `mode`."""
    length = min(len(c) for c in curves)
    for i in range(length):
        if sum(c[i][mode] for c in curves) / len(curves) >= target:
            return sum(c[i][key] for c in curves) / len(curves)
    return None


def summarise(results: dict) -> dict:
    def stats(values):
        return {"mean": sum(values) / len(values), "min": min(values), "max": max(values)}

    van = results["vanilla"]
    targets = {m: sum(r["curve"][-1][m] for r in van) / len(van) for m in MODES}
    summary = {"vanilla_final": targets, "arms": {}}
    for name, runs in results.items():
        curves = [r["curve"] for r in runs]
        row = {f"final_{m}": stats([c[-1][m] for c in curves]) for m in MODES}
        row["start"] = {m: curves[0][0][m] for m in MODES}
        for m in MODES:
            for key in ("tokens", "wall"):
                got = first_reach(curves, m, targets[m], key)
                base = first_reach([r["curve"] for r in van], m, targets[m], key)
                row[f"{key}_to_vanilla_final_{m}"] = got
                row[f"{key}_ratio_{m}"] = got / base if got is not None and base else None
        for key in (
            "completion_tokens",
            "zero_variance_trained",
            "zero_variance_drawn",
            "tokens_per_informative_group",
            "steps",
        ):
            row[key] = stats([r[key] for r in runs])
        row["overhead_share"] = sum(r["overhead_seconds"] for r in runs) / sum(r["step_seconds"] for r in runs)
        summary["arms"][name] = row
    return summary


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(1, 2, figsize=(13, 4.5), sharex=True)
    for ax, mode in zip(axes, MODES):
        for name, runs in results.items():
            length = min(len(r["curve"]) for r in runs)
            x = np.mean([[p["tokens"] / 1e6 for p in r["curve"][:length]] for r in runs], axis=0)
            y = np.array([[p[mode] for p in r["curve"][:length]] for r in runs])
            (line,) = ax.plot(x, y.mean(0), marker=".", label=name)
            ax.fill_between(x, y.min(0), y.max(0), color=line.get_color(), alpha=0.15)
        ax.set(xlabel="generated completion tokens (M)", ylabel="held-out greedy accuracy", title=f"thinking {mode}")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default="configs/tiny-cpu.yaml")
    p.add_argument("--out", default="runs/bench-curriculum")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--arms", default=",".join(ARMS), help=f"comma-separated, vanilla first; of {list(ARMS)}")
    p.add_argument("--eval-every", type=int, default=50)
    p.add_argument("--eval-problems", type=int, default=256, help="held-out problems per mode in each evaluation")
    p.add_argument("overrides", nargs="*", help="overrides for every stage (they shape the student too)")
    args = p.parse_args(argv)
    import logging

    logging.disable(logging.WARNING)
    from demo_seeds import build_student

    from rlkd.io import atomic_write_json
    from rlkd.training.rewards import resolve_reward

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    base, _, _ = build_student(args.config, args.overrides, out, {})
    results_path = out / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    arms = args.arms.split(",")
    assert arms[0] == "vanilla", "vanilla sets the token budget: list it first"
    for seed in [int(s) for s in args.seeds.split(",")]:
        for name in arms:
            runs = results.setdefault(name, [])
            if any(r["seed"] == seed for r in runs):
                continue
            grpo = arm_config(args.config, args.overrides, name, seed, base, out / f"{name}-{seed}")
            # the same planned steps (the schedule's course) for every arm; arms that generate more per step stop
            # at vanilla's tokens first
            vanilla = [r for r in results.get("vanilla", []) if r["seed"] == seed]
            budget = None if name == "vanilla" else vanilla[0]["completion_tokens"]
            accuracy = resolve_reward(grpo, "accuracy")
            problems = held_out(grpo, args.eval_problems)
            t0 = time.monotonic()
            res = train_arm(grpo, problems, accuracy, args.eval_every, budget)
            accuracy.close()
            runs.append({"seed": seed, **res})
            atomic_write_json(results_path, results)  # a sweep killed mid-write keeps its finished runs
            last = res["curve"][-1]
            print(
                f"{name:<24} seed {seed}: on {last['on']:.3f} off {last['off']:.3f}  {res['steps']} steps, "
                f"{res['completion_tokens'] / 1e6:.2f}M tokens, {(time.monotonic() - t0) / 60:.1f} min",
                flush=True,
            )
    summary = summarise({n: results[n] for n in arms if n in results})
    atomic_write_json(out / "summary.json", summary)
    plot({n: results[n] for n in arms if n in results}, out / "curriculum_efficiency.png")
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
