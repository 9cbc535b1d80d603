"""The demo's claim over seeds: from one SFT student, GRPO with seeds 0, 1, 2 (and arms to compare), held-out
greedy accuracy per mode before and after, as `make demo` measures it.

    PYTHONPATH=. python benchmarks/demo_seeds.py --out runs/demo-seeds                 # the shipped demo config
    PYTHONPATH=. python benchmarks/demo_seeds.py --out runs/x --arm "refill=curriculum.dynamic_sampling=refill"

The SFT student and its pass rates are built once (stages 1-4 of the demo, cached under --out, keyed by the
config and overrides that shape them), then every arm × seed runs stage 5 (GRPO) and 6 (eval). Arms are named
override lists applied to the GRPO stage only; `demo` is the demo's own GRPO settings. Prints one row per run and
the mean and range per arm and mode, and writes results.json (appending, so a sweep can be resumed).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import time
from pathlib import Path

MODES = ("on", "off")


def _key(*parts) -> str:
    return hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:10]


def build_student(config: str, overrides: list[str], out: Path, model_args: dict) -> tuple[Path, Path, dict]:
    """Stages 1-4 of the demo, once per (config, overrides): the SFT student, its pass rates, its eval."""
    from rlkd.commands.demo import stage_configs
    from rlkd.commands.eval import run_eval
    from rlkd.commands.passrate import run_passrate
    from rlkd.commands.sft import run_sft
    from rlkd.config import load_config
    from rlkd.demo.tiny import save_tiny_model

    cfg = load_config(config, overrides)
    base = out / f"student-{_key(config, Path(config).read_text(), overrides, model_args)}"
    stages = stage_configs(cfg, base)
    before = base / "eval-before.json"
    if not before.exists():
        t0 = time.monotonic()
        save_tiny_model(base / "tiny-model", **model_args)
        run_sft(stages["sft"])
        run_passrate(stages["passrate"])
        run_eval(stages["grpo"], [str(base / "sft")], before)
        (base / "minutes.txt").write_text(f"{(time.monotonic() - t0) / 60:.2f}\n")
    return base, base / "passrate.jsonl", json.loads(before.read_text())


def asks_uniform(arm: list[str]) -> bool:
    """Whether an arm's own overrides ask for uniform sampling. Not the merged config's curriculum.name: the demo
    config leaves it at its default, `uniform`, which the demo's stage replaces with the Gaussian curriculum, so
    testing the merged config turned every arm into uniform sampling (how demo_seeds once disagreed with
    `make demo`). The overrides are read by the config loader's own parser."""
    from rlkd.config.loader import apply_override

    raw: dict = {}
    for override in arm:
        apply_override(raw, override)
    return (raw.get("curriculum") or {}).get("name") == "uniform"


def arm_config(
    config: str,
    overrides: list[str],
    base: Path,
    arm: list[str],
    seed: int,
    run_dir: Path,
    *,
    uniform_keeps_filter: bool = True,
):
    """The demo's GRPO stage (filter + curriculum on the student's pass rates at `base`) with the arm's overrides
    and seed, writing to `run_dir`, W&B off. An arm asking for `uniform` gets uniform order over the filtered pool,
    or, with `uniform_keeps_filter=False`, TRL's sampling over every prompt (no pass rates)."""
    from rlkd.commands.demo import stage_configs
    from rlkd.config import load_config

    cfg = load_config(config, [*overrides, *arm, f"grpo.seed={seed}"])
    grpo = stage_configs(cfg, base)["grpo"]
    grpo = dataclasses.replace(
        grpo, grpo={**grpo.grpo, "output_dir": str(run_dir)}, wandb=dataclasses.replace(grpo.wandb, mode="disabled")
    )
    if asks_uniform(arm):
        pass_rates = grpo.curriculum.pass_rates if uniform_keeps_filter else None
        grpo = dataclasses.replace(
            grpo, curriculum=dataclasses.replace(grpo.curriculum, name="uniform", pass_rates=pass_rates)
        )
    return grpo


def run_arm(config: str, overrides: list[str], base: Path, arm: list[str], seed: int, out: Path) -> dict:
    from rlkd.commands.demo import mode_scores
    from rlkd.commands.eval import run_eval
    from rlkd.commands.train import run_training

    run_dir = out / f"grpo-{_key(overrides, arm, seed)}"
    grpo = arm_config(config, overrides, base, arm, seed, run_dir)
    t0 = time.monotonic()
    run_training(grpo)
    minutes = (time.monotonic() - t0) / 60
    after = run_eval(grpo, [str(run_dir)], run_dir / "eval-after.json")
    metrics = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    tokens = max((m.get("completion_tokens", 0) for m in metrics), default=0)
    return {"scores": mode_scores(after), "minutes": round(minutes, 2), "completion_tokens": tokens}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default="configs/tiny-cpu.yaml")
    p.add_argument("--out", default="runs/demo-seeds")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--arm", action="append", default=[], help="NAME=key=value;key=value (GRPO stage overrides)")
    p.add_argument(
        "--model-args", default="{}", help='tiny model shape as JSON, e.g. {"layers": 4} (default: the demo\'s)'
    )
    p.add_argument("overrides", nargs="*", help="overrides for every stage (they shape the student too)")
    args = p.parse_args(argv)
    import logging

    logging.disable(logging.WARNING)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    arms = {"demo": []}
    for spec in args.arm:
        name, _, rest = spec.partition("=")
        arms[name] = [kv for kv in rest.split(";") if kv]
    base, _, before_report = build_student(args.config, args.overrides, out, json.loads(args.model_args))
    from rlkd.commands.demo import mode_scores

    before = mode_scores(before_report)
    print(f"student {base.name}: " + "  ".join(f"{m} {before[m]['accuracy']:.3f}" for m in MODES if m in before))
    results_path = out / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else []
    for seed in [int(s) for s in args.seeds.split(",")]:
        for name, arm in arms.items():
            done = [r for r in results if r["student"] == base.name and r["arm"] == arm and r["seed"] == seed]
            row = done[0] if done else None
            if row is None:
                res = run_arm(args.config, args.overrides, base, arm, seed, out)
                row = {"student": base.name, "name": name, "arm": arm, "seed": seed, "before": before, **res}
                results.append(row)
                # re-read first: another sweep may share --out (each run_dir is its own)
                latest = json.loads(results_path.read_text()) if results_path.exists() else []
                merged = latest + [r for r in results if r not in latest]
                from rlkd.io import atomic_write_json

                atomic_write_json(results_path, merged)
            gains = {m: row["scores"][m]["accuracy"] - before[m]["accuracy"] for m in MODES if m in before}
            fmt = {m: row["scores"][m]["format"] for m in MODES if m in before}
            print(
                f"{name:<12} seed {seed}: "
                + "  ".join(f"{m} {gains[m]:+.3f} (format {fmt[m]:.3f})" for m in gains)
                + f"  {row['minutes']:.1f} min, {row['completion_tokens'] / 1e6:.2f}M completion tokens"
            )
    for name, arm in arms.items():
        rows = [r for r in results if r["student"] == base.name and r["arm"] == arm]
        for m in MODES:
            if m not in before:
                continue
            g = [r["scores"][m]["accuracy"] - before[m]["accuracy"] for r in rows]
            mean = sum(g) / len(g)
            print(f"{name:<12} {m}: gain mean {mean:+.3f}, range {min(g):+.3f} .. {max(g):+.3f} ({len(g)} seeds)")


if __name__ == "__main__":
    main()
