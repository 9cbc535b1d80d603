"""`rlkd demo` (`make demo`): distil → RL → a better student, on a CPU box, in one command.

The stages, each leaving its output under runs/demo/:
  1. tiny-model/      a random-init byte-level student (no download)
  2. sft/             SFT on the symbolic teacher's paired thinking-on / thinking-off traces (the distillation stage)
  3. eval-before.json held-out accuracy and format compliance per reasoning mode, for the SFT student
  4. passrate.jsonl   `rlkd passrate`: 8 samples per train prompt with the SFT student
  5. grpo/            GRPO: prompts with pass rate >= 0.75 dropped, Gaussian curriculum, accuracy + format rewards,
                      W&B offline
  6. eval-after.json  the same eval for the RL student
  7. summary.json (before/after accuracy and format per mode: the same on every run on one machine), timing.json
     (minutes per stage), training.png and a before/after table on stdout

All stages' W&B runs (sft, before-eval, grpo, after-eval) share one W&B group per demo run.

Every setting comes from configs/tiny-cpu.yaml; the demo only points each stage at the previous stage's output.

The demo starts clean, but it never deletes what it did not write: it marks its output dir with `.rlkd-demo`, and
clears only a marked dir, and there only the entries it writes (`DEMO_OUTPUTS`). `--out .` or `--out runs` with
anything else in it is refused.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from pathlib import Path
from typing import Any

from rlkd.config import ConfigError, RunConfig, load_config
from rlkd.io import atomic_write_json

logger = logging.getLogger(__name__)

SUMMARY_FILE = "summary.json"
TIMING_FILE = "timing.json"
# the stages, in order, with the banner numbering the console shows
STAGES = {
    "tiny-model": "1/6",
    "sft": "2/6",
    "eval-before": "3/6",
    "passrate": "4/6",
    "grpo": "5/6",
    "eval-after": "6/6",
}
MODES = ("on", "off")
DEMO_MARKER = ".rlkd-demo"
# Everything a demo run writes at the top of its output dir (wandb/: the evals' W&B runs).
DEMO_OUTPUTS = (
    "tiny-model",
    "sft",
    "eval-before.json",
    "passrate.jsonl",
    "passrate",
    "grpo",
    "eval-after.json",
    SUMMARY_FILE,
    TIMING_FILE,
    "training.png",
    "wandb",
)


def claim_output_dir(out: Path) -> None:
    """Make `out` the demo's: new or empty, or marked by an earlier demo (whose outputs are then removed)."""
    import shutil

    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; give the demo a directory")
    if out.is_dir() and any(out.iterdir()):
        if not (out / DEMO_MARKER).is_file():
            raise ConfigError(
                f"--out {out} is not empty and is not an earlier demo's (it has no {DEMO_MARKER}); the demo clears "
                "its output dir before it runs and never deletes what it did not write: give it a new or empty "
                "directory"
            )
        logger.info("clearing the previous demo in %s", out)
        for name in DEMO_OUTPUTS:
            target = out / name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            elif target.exists() or target.is_symlink():
                target.unlink()
    out.mkdir(parents=True, exist_ok=True)
    (out / DEMO_MARKER).write_text("written by `rlkd demo`: it may clear the demo outputs in this directory\n")


def stage_configs(cfg: RunConfig, out: Path) -> dict[str, RunConfig]:
    """The config each stage runs with: the demo config, pointed at runs/demo/<stage>."""
    sft_dir, passrate_file, grpo_dir = out / "sft", out / "passrate.jsonl", out / "grpo"
    sft = dataclasses.replace(
        cfg,
        model=dataclasses.replace(cfg.model, name_or_path=str(out / "tiny-model")),
        sft=dataclasses.replace(cfg.sft, args={**cfg.sft.args, "output_dir": str(sft_dir)}),
    )
    student = dataclasses.replace(cfg.model, name_or_path=str(sft_dir))
    # the recipe's stage 5: the config's pass-rate filter, then the Gaussian curriculum over what is left (or the
    # online one, when the config asks for it; `uniform` has no place in the demo, whose point is the curriculum)
    curriculum = "online" if cfg.curriculum.name == "online" else "gaussian"
    passrate = dataclasses.replace(
        cfg,
        model=student,
        passrate=dataclasses.replace(cfg.passrate, output=str(passrate_file)),
        grpo={**cfg.grpo, "output_dir": str(out / "passrate")},
    )
    grpo = dataclasses.replace(
        cfg,
        model=student,
        curriculum=dataclasses.replace(cfg.curriculum, name=curriculum, pass_rates=str(passrate_file)),
        grpo={**cfg.grpo, "output_dir": str(grpo_dir)},
    )
    return {"sft": sft, "passrate": passrate, "grpo": grpo}


def mode_scores(report: dict[str, Any]) -> dict[str, dict[str, float]]:
    """{"on": {"accuracy", "format"}, "off": {...}} for the (single) model of an eval report."""
    modes = report["models"][0]["modes"]
    return {m: {"accuracy": modes[m]["accuracy"], "format": modes[m]["format"]} for m in MODES if m in modes}


def before_after_table(before: dict, after: dict) -> str:
    lines = [f"{'mode':<6}{'metric':<10}{'SFT':>8}{'SFT+GRPO':>10}{'change':>9}"]
    for mode in MODES:
        for metric in ("accuracy", "format"):
            b, a = before[mode][metric], after[mode][metric]
            lines.append(f"{mode:<6}{metric:<10}{b:>8.3f}{a:>10.3f}{a - b:>+9.3f}")
    return "\n".join(lines)


def grouped(cfg: RunConfig, group: str, name: str) -> RunConfig:
    """The stage's config with its W&B run named and in the demo's group (one group per demo run)."""
    return dataclasses.replace(cfg, wandb=dataclasses.replace(cfg.wandb, group=cfg.wandb.group or group, name=name))


def run_demo(
    config: str | Path = "configs/tiny-cpu.yaml",
    out: str | Path = "runs/demo",
    overrides: list[str] | tuple[str, ...] = (),
) -> dict[str, Any]:
    from rlkd.commands.eval import run_eval
    from rlkd.commands.passrate import run_passrate
    from rlkd.commands.plots import plot_training
    from rlkd.commands.sft import run_sft
    from rlkd.commands.train import run_training
    from rlkd.console import banner
    from rlkd.demo.tiny import save_tiny_model

    start = time.monotonic()
    out = Path(out)
    cfg = load_config(config, overrides)  # a bad config or override fails before the previous demo is cleared
    claim_output_dir(out)
    stages = stage_configs(cfg, out)
    group = f"demo-{time.strftime('%Y%m%d-%H%M%S')}"  # the stages' W&B runs, together
    started: dict[str, float] = {}

    def stage(key: str, title: str) -> None:
        started[key] = time.monotonic()
        banner(f"{STAGES[key]} {title}  [{(started[key] - start) / 60:.1f} min]")

    stage("tiny-model", "building the tiny student (random init, no download)")
    save_tiny_model(out / "tiny-model")
    stage("sft", "SFT on the symbolic teacher's paired thinking-on / thinking-off traces")
    sft_dir = run_sft(grouped(stages["sft"], group, "sft"))
    stage("eval-before", "held-out accuracy of the SFT student, per reasoning mode")
    before = mode_scores(run_eval(grouped(stages["grpo"], group, "before"), [str(sft_dir)], out / "eval-before.json"))
    stage("passrate", "pass rates: 8 samples per train prompt with the SFT student")
    run_passrate(stages["passrate"])
    stage("grpo", "GRPO: pass-rate filter, Gaussian curriculum per mode, accuracy + format rewards")
    grpo_dir = run_training(grouped(stages["grpo"], group, "grpo"))
    stage("eval-after", "held-out accuracy of the RL student")
    after = mode_scores(run_eval(grouped(stages["grpo"], group, "after"), [str(grpo_dir)], out / "eval-after.json"))
    ends = [*list(started.values())[1:], time.monotonic()]
    minutes = {key: round((end - begin) / 60, 2) for (key, begin), end in zip(started.items(), ends)}
    minutes["total"] = round((ends[-1] - start) / 60, 2)

    summary = {"before": before, "after": after}  # the same on every run on one machine: no timings in it
    atomic_write_json(out / SUMMARY_FILE, summary)
    atomic_write_json(out / TIMING_FILE, {"minutes": minutes})
    plot = plot_training(grpo_dir, out / "training.png")
    print(f"\nheld-out arithmetic, {json.dumps(cfg.data.generator_args)}\n{before_after_table(before, after)}")
    print(f"\nsummary: {out / SUMMARY_FILE}   plot: {plot}   W&B group {group} (offline: {out}/*/wandb)")
    print(f"minutes: {minutes['total']}")
    return summary
