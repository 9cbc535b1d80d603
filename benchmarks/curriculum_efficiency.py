"""Does the curriculum pay? Vanilla TRL sampling vs rlkd's filter + Gaussian curriculum (+ online pass rates,
+ dynamic sampling) on the tiny arithmetic task, same seed and same generated completions per step.

    PYTHONPATH=. python benchmarks/curriculum_efficiency.py --out runs/bench-curriculum   # ~30 min on 2 cores

What it does, self-contained and offline:
1. builds the tiny student and SFTs it for a few hundred steps on "<think>a+b=c</think>\\boxed{c}" strings, so it
   solves some problems (the random student solves none, and GRPO on it learns nothing);
2. estimates every train prompt's pass rate with `rlkd passrate` (k=8);
3. trains four GRPO runs from that student: vanilla (TRL's RepeatSampler over all prompts), filter + gaussian,
   + online, + dynamic sampling; each run generates the same number of completions per step;
4. prints, against vanilla measured in the same run: the fraction of zero-variance groups (on accuracy), the steps
   each run needs to reach vanilla's final held-out accuracy (greedy, on problems in neither SFT nor RL data),
   and the sampler + table overhead as a share of step time;
5. writes results.json and curriculum_efficiency.png to --out.

Goals (issue 5): zero-variance fraction <= 0.5x vanilla; vanilla's final held-out accuracy reached in <= 0.6x the
steps; sampler and table overhead <= 2% of step time.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from pathlib import Path

RUNS = {  # name -> curriculum overrides (pass_rates is filled in once estimated)
    "vanilla": {},
    "paper-filter+gaussian": {"name": "gaussian"},  # drop pass rate >= 0.75 only, as in the paper
    "filter+gaussian": {"name": "gaussian", "min_pass_rate": 0.0},  # also drop never-solved prompts
    "+online": {"name": "online", "min_pass_rate": 0.0},
    "+dynamic": {"name": "online", "min_pass_rate": 0.0, "dynamic_sampling": True},
    # a tighter filter (also drop prompts solved once in 8): where the zero-variance dial is
    "tight-filter+dynamic": {"name": "online", "min_pass_rate": 0.125, "dynamic_sampling": True},
}
OPS = ("+", "-")


def problems(num: int, seed: int, exclude: set[str] = frozenset()) -> list[dict]:
    from rlkd.demo.arithmetic import generate

    rows, seen = [], set(exclude)
    for r in generate(num * 3, min_digits=1, max_digits=2, ops=OPS, seed=seed):
        if r["question"] not in seen:
            seen.add(r["question"])
            rows.append({"prompt": r["question"], "solution": r["solution"], "digits": r["digits"], "op": r["op"]})
        if len(rows) == num:
            break
    return rows


def completion(row: dict) -> str:
    return f"<think>{row['prompt']}={row['solution']}</think>\\boxed{{{row['solution']}}}"


def sft_student(out: Path, rows: list[dict], steps: int, lr: float, seed: int) -> Path:
    """Plain supervised training of the tiny student on the answer strings (loss on the completion only)."""
    import torch

    from rlkd.demo.tiny import build_model, build_tokenizer

    tok = build_tokenizer()
    model = build_model(tok, seed=seed)
    torch.manual_seed(seed)

    def encode(row):
        prompt = tok.apply_chat_template(
            [{"role": "user", "content": row["prompt"]}], add_generation_prompt=True, tokenize=False
        )
        ids_p = tok(prompt, add_special_tokens=False)["input_ids"]
        ids_c = tok(completion(row) + tok.eos_token, add_special_tokens=False)["input_ids"]
        return ids_p, ids_c

    data = [encode(r) for r in rows]
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    rng = random.Random(seed)
    model.train()
    for _ in range(steps):
        batch = rng.sample(data, 64)
        width = max(len(p) + len(c) for p, c in batch)
        ids = torch.full((len(batch), width), tok.pad_token_id)
        labels = torch.full((len(batch), width), -100)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for i, (p, c) in enumerate(batch):
            ids[i, : len(p) + len(c)] = torch.tensor(p + c)
            mask[i, : len(p) + len(c)] = 1
            labels[i, len(p) : len(p) + len(c)] = torch.tensor(c)
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def held_out_accuracy(model, tok, rows: list[dict], judge, temperature: float, samples: int = 4) -> float:
    """Mean accuracy on held-out problems, `samples` completions each at the training temperature (what GRPO
    optimises), with a fixed seed (rlkd's offline generate forks the RNG, so evaluation neither varies between runs
    nor moves training)."""
    from rlkd.generation.offline import Sampling, TransformersGenerator

    msgs = [[{"role": "user", "content": r["prompt"]}] for r in rows]
    sampling = Sampling(n=samples, temperature=temperature, max_new_tokens=24)
    outs = TransformersGenerator(model, tok, batch_size=len(rows) * samples).generate(msgs, sampling, seed=1234)
    comps = [text for group in outs for text, _ in group]
    solutions = [r["solution"] for r in rows for _ in range(samples)]
    scores = judge(comps, solution=solutions, prompts=[m for m in msgs for _ in range(samples)])
    return sum(s or 0.0 for s in scores) / len(scores)


def run_config(
    student: Path,
    train_file: Path,
    out: Path,
    steps: int,
    seed: int,
    curriculum: dict,
    *,
    lr: float = 1e-4,
    temperature: float = 0.6,
) -> dict:
    return {
        "model": {"name_or_path": str(student)},
        "data": {"path": str(train_file), "thinking": "none"},
        "rewards": [{"name": "accuracy", "weight": 1.0}, {"name": "format", "weight": 0.5}],
        "generation": {"temperature": temperature, "max_completion_length": 24},
        "curriculum": curriculum,
        "passrate": {"output": str(out.parent / "passrate.jsonl"), "k": 8, "batch_size": 32},
        "wandb": {"mode": "disabled"},
        "grpo": {
            "output_dir": str(out),
            "max_steps": steps,
            "per_device_train_batch_size": 64,
            "num_generations": 8,
            "learning_rate": lr,
            "lr_scheduler_type": "constant",
            "logging_steps": 1,
            "save_strategy": "no",
            "seed": seed,
            "dataloader_num_workers": 0,
            "disable_tqdm": True,
        },
    }


def train_one(raw: dict, eval_rows: list[dict], train_rows: list[dict], eval_every: int, judge) -> dict:
    from transformers import TrainerCallback

    from rlkd.config import parse_config
    from rlkd.training.builder import build_trainer, prepare_run
    from rlkd.training.rewards import close_rewards

    cfg = parse_config(raw)
    inputs = prepare_run(cfg)
    model, tok, runtime = inputs.model, inputs.tokenizer, inputs.curriculum
    temperature = cfg.generation.temperature
    curve: list[tuple[int, float]] = []  # held-out problems
    train_curve: list[tuple[int, float]] = []  # every train prompt, the filtered ones included

    def evaluate(step: int, policy) -> None:
        curve.append((step, held_out_accuracy(policy, tok, eval_rows, judge, temperature)))
        train_curve.append((step, held_out_accuracy(policy, tok, train_rows, judge, temperature)))

    if eval_every:
        evaluate(0, model)

    class HeldOut(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if eval_every and state.global_step % eval_every == 0:
                evaluate(state.global_step, kwargs["model"])

    trainer = build_trainer(inputs, callbacks=[HeldOut()])
    t0 = time.perf_counter()
    trainer.train()
    wall = time.perf_counter() - t0
    close_rewards(trainer.reward_funcs)  # each run builds its own rewards: stop their math-verify workers
    logs = [h for h in trainer.state.log_history if "curriculum/frac_zero_variance_groups" in h]
    sampler = runtime.sampler
    overhead = runtime.hook_seconds + (sampler.decide_seconds if sampler is not None else 0.0)
    step_times = [h["step_time"] for h in logs if "step_time" in h]
    return {
        "pool": len(runtime.train_dataset),
        "curve": curve,
        "train_curve": train_curve,
        "zero_variance": [h["curriculum/frac_zero_variance_groups"] for h in logs],
        "batch_pass_rate": [h["curriculum/batch_pass_rate_mean"] for h in logs],
        "masked": [h["curriculum/frac_masked"] for h in logs],
        "target_mean": [h.get("curriculum/target_mean") for h in logs],
        "completion_tokens": sum(h["completions/mean_length"] * 64 for h in logs),
        "train_seconds": wall,
        "step_time_mean": sum(step_times) / len(step_times),
        "step_seconds": sum(step_times),  # TRL's per-step times: training only, the evaluation callback excluded
        "overhead_seconds": overhead,
    }


def steps_to_reach(curve: list[tuple[int, float]], target: float) -> int | None:
    return next((step for step, acc in curve if acc >= target), None)


def mean_curve(curves: list[list[tuple[int, float]]]) -> list[tuple[int, float]]:
    return [(pts[0][0], sum(p[1] for p in pts) / len(pts)) for pts in zip(*curves)]


def mean(values) -> float:
    values = list(values)
    return sum(values) / len(values)


def summarise(results: dict, steps: int) -> dict:
    """Means over seeds; every ratio is against vanilla from the same invocation."""
    names = list(results)
    summary: dict = {"runs": {}, "curves": {}, "train_curves": {}}
    for n in names:
        summary["curves"][n] = mean_curve([r["curve"] for r in results[n]])
        summary["train_curves"][n] = mean_curve([r["train_curve"] for r in results[n]])
    for n in names:
        row = {
            "pool": results[n][0]["pool"],
            "zero_variance": mean(mean(r["zero_variance"]) for r in results[n]),
            "zero_variance_in_loss": mean(
                mean(z - m for z, m in zip(r["zero_variance"], r["masked"])) for r in results[n]
            ),
            "completion_tokens": mean(r["completion_tokens"] for r in results[n]),
            "step_time_mean": mean(r["step_time_mean"] for r in results[n]),
            "overhead_share": sum(r["overhead_seconds"] for r in results[n])
            / sum(r["step_seconds"] for r in results[n]),
        }
        for label, curves in (("held_out", summary["curves"]), ("train", summary["train_curves"])):
            base = curves["vanilla"]
            target = base[-1][1]
            reach = steps_to_reach(curves[n], target)
            improved = target > base[0][1]  # a target vanilla never climbed to says nothing about speed
            row[f"{label}_start"], row[f"{label}_final"] = curves[n][0][1], curves[n][-1][1]
            row[f"{label}_steps_to_vanilla_final"] = reach
            row[f"{label}_steps_ratio"] = reach / steps if reach is not None and improved else None
        summary["runs"][n] = row
    base = summary["runs"]["vanilla"]
    for row in summary["runs"].values():
        row["zero_variance_ratio"] = (
            row["zero_variance"] / base["zero_variance"] if base["zero_variance"] else math.nan
        )
        row["step_time_ratio"] = row["step_time_mean"] / base["step_time_mean"]
    return summary


def plot(summary: dict, results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.2))
    for ax, key, title in (
        (axes[0], "curves", "held-out accuracy (sampled, T as trained)"),
        (axes[1], "train_curves", "accuracy on all train prompts"),
    ):
        for n, curve in summary[key].items():
            ax.plot([s for s, _ in curve], [a for _, a in curve], marker=".", label=n)
        ax.axhline(summary[key]["vanilla"][-1][1], color="gray", ls=":", lw=1)
        ax.set(xlabel="step", ylabel="accuracy", title=title)
    for n in results:
        zv = [mean(v) for v in zip(*[r["zero_variance"] for r in results[n]])]
        window = 10  # per-step fractions of 8 groups are coarse: a moving average
        smooth = [mean(zv[max(0, i - window + 1) : i + 1]) for i in range(len(zv))]
        axes[2].plot(range(1, len(zv) + 1), smooth, label=n)
    axes[2].set(xlabel="step", ylabel="fraction of groups", title="zero-variance groups drawn (10-step mean)")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def overhead_ab(
    student: Path, train_file: Path, out: Path, passrates: Path, knobs: dict, judge, repeats: int = 3, steps: int = 20
) -> dict:
    """Plain TRL sampling vs the heaviest rlkd variant (online + dynamic sampling), alternated A B A B ... on the
    same config without evaluation, so load from other jobs on a shared box hits both alike."""
    ratios, shares = [], []
    for i in range(repeats):
        times = {}
        for name in ("vanilla", "+dynamic"):
            cur = {**RUNS[name], "pass_rates": str(passrates)} if RUNS[name] else {}
            raw = run_config(student, train_file, out / f"ab-{name}-{i}", steps, 0, cur, **knobs)
            res = train_one(raw, [], [], 0, judge)
            times[name] = res["step_time_mean"]
            if name != "vanilla":
                shares.append(res["overhead_seconds"] / res["step_seconds"])
        ratios.append(times["+dynamic"] / times["vanilla"])
    return {"step_time_ratios": ratios, "median_ratio": sorted(ratios)[len(ratios) // 2], "hook_shares": shares}


def sampler_cost(pool_sizes=(1_000, 10_000, 100_000), batch: int = 72, group: int = 16, batches: int = 50) -> dict:
    """Milliseconds per batch for an online decision plus its table update, at the paper's batch shape (72 x 16)."""
    import numpy as np

    from curricula import OnlineCurriculum, PassRateTable

    rng = np.random.default_rng(0)
    out = {}
    for n in pool_sizes:
        cur = OnlineCurriculum(PassRateTable(n, rng.integers(0, 6, n) / 8), batch, 500)
        t0 = time.perf_counter()
        for _ in range(batches):
            chunk = cur.next_batch()
            cur.observe(np.repeat(chunk, group), rng.integers(0, 2, batch * group).astype(float))
        out[n] = (time.perf_counter() - t0) / batches * 1000
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="runs/bench-curriculum")
    p.add_argument("--steps", type=int, default=120)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--num-train", type=int, default=256, help="RL train prompts")
    p.add_argument("--sft-steps", type=int, default=1500)
    p.add_argument("--sft-lr", type=float, default=3e-3)
    p.add_argument("--eval-every", type=int, default=10)
    p.add_argument("--lr", type=float, default=3e-5, help="GRPO learning rate")
    p.add_argument("--temperature", type=float, default=0.6, help="sampling temperature (pass rates and GRPO)")
    p.add_argument("--runs", nargs="+", default=list(RUNS), choices=list(RUNS), help="vanilla must be one")
    p.add_argument("--threads", type=int, default=1, help="torch threads (the box is shared)")
    args = p.parse_args(argv)

    import logging
    import os

    import torch

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)
    from rewards import get_reward
    from rlkd.commands.passrate import run_passrate
    from rlkd.config import parse_config

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    eval_rows = problems(200, seed=1)
    train_rows = problems(args.num_train, seed=0, exclude={r["prompt"] for r in eval_rows})
    sft_rows = problems(20000, seed=7, exclude={r["prompt"] for r in eval_rows})  # may overlap train, never eval
    train_file = out / "train.jsonl"
    train_file.write_text("".join(json.dumps(r) + "\n" for r in train_rows))
    judge = get_reward("accuracy")

    t0 = time.perf_counter()
    student = out / "student"
    if not (student / "config.json").exists():
        sft_student(student, sft_rows, args.sft_steps, args.sft_lr, seed=0)
    print(f"student: {args.sft_steps} SFT steps in {time.perf_counter() - t0:.0f}s", flush=True)

    t0 = time.perf_counter()
    knobs = {"lr": args.lr, "temperature": args.temperature}
    run_passrate(parse_config(run_config(student, train_file, out / "passrate-run", args.steps, 0, {}, **knobs)))
    rates = [json.loads(line)["pass_rate"] for line in (out / "passrate.jsonl").read_text().splitlines()]
    hist = [sum(1 for r in rates if abs(r - k / 8) < 1e-9) for k in range(9)]
    print(f"pass rates (k=8) in {time.perf_counter() - t0:.0f}s: counts at 0/8..8/8 = {hist}", flush=True)

    results: dict[str, list[dict]] = {n: [] for n in args.runs}
    for seed in args.seeds:
        for name in args.runs:
            curriculum = RUNS[name]
            cur = {**curriculum, "pass_rates": str(out / "passrate.jsonl")} if curriculum else {}
            raw = run_config(student, train_file, out / f"{name}-seed{seed}", args.steps, seed, cur, **knobs)
            res = train_one(raw, eval_rows, train_rows, args.eval_every, judge)
            results[name].append(res)
            print(
                f"seed {seed} {name:16s} pool {res['pool']:3d}  held-out {res['curve'][0][1]:.3f} -> "
                f"{res['curve'][-1][1]:.3f}  zero-var {sum(res['zero_variance']) / len(res['zero_variance']):.3f}"
                f"  {res['train_seconds']:.0f}s",
                flush=True,
            )

    summary = summarise(results, args.steps)
    summary.update(pass_rate_counts=hist, args=vars(args))
    (out / "results.json").write_text(json.dumps({"summary": summary, "runs": results}, indent=1))
    plot(summary, results, out / "curriculum_efficiency.png")
    header = (
        "run",
        "pool",
        "zero-var",
        "x vanilla",
        "in loss",
        "held-out",
        "steps",
        "train acc",
        "steps",
        "overhead",
        "step time",
        "tokens",
    )
    widths = (22, 4, 8, 9, 7, 13, 5, 13, 5, 8, 9, 7)
    print("\n" + " ".join(f"{h:>{w}s}" if i else f"{h:{w}s}" for i, (h, w) in enumerate(zip(header, widths))))
    for n, r in summary["runs"].items():
        reach = {
            k: "-" if r[f"{k}_steps_ratio"] is None else f"{r[f'{k}_steps_ratio']:.2f}" for k in ("held_out", "train")
        }
        cells = (
            f"{n:22s}",
            f"{r['pool']:4d}",
            f"{r['zero_variance']:8.3f}",
            f"{r['zero_variance_ratio']:9.2f}",
            f"{r['zero_variance_in_loss']:7.3f}",
            f"{r['held_out_start']:.3f}->{r['held_out_final']:.3f}",
            f"{reach['held_out']:>5s}",
            f"{r['train_start']:.3f}->{r['train_final']:.3f}",
            f"{reach['train']:>5s}",
            f"{r['overhead_share']:8.2%}",
            f"{r['step_time_ratio']:8.2f}x",
            f"{r['completion_tokens']:7.0f}",
        )
        print(" ".join(cells))
    print(
        "steps: steps to reach vanilla's final accuracy / total steps ('-': not reached, or vanilla did not improve)"
    )
    ab = overhead_ab(student, train_file, out, out / "passrate.jsonl", knobs, judge)
    summary["overhead_ab"] = ab
    print(
        "overhead, alternating runs of 20 steps (A B x3): step time online+dynamic / vanilla = "
        + ", ".join(f"{r:.3f}" for r in ab["step_time_ratios"])
        + f" (median {ab['median_ratio']:.3f}); time inside rlkd's sampler and hooks = "
        + ", ".join(f"{x:.2%}" for x in ab["hook_shares"])
        + " of step time"
    )
    cost = sampler_cost()
    summary["sampler_ms_per_batch"] = cost
    (out / "results.json").write_text(json.dumps({"summary": summary, "runs": results}, indent=1))
    print(
        "online decision + table update per batch of 72 prompts x 16: "
        + ", ".join(f"{n} prompts {ms:.2f} ms" for n, ms in cost.items())
    )
    judge.close()


if __name__ == "__main__":
    main()
