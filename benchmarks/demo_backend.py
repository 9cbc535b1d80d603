"""Which sampling backend should the tiny CPU demo use? Whole GRPO runs of configs/tiny-cpu.yaml, one per backend.

Generation throughput alone (generation_throughput.py) leaves out what a backend costs around it: vLLM's engine
start, the weight sync after every optimizer step, and the policy forward TRL adds for the importance-sampling
correction. This runs `rlkd train configs/tiny-cpu.yaml` in a fresh process per backend (same tiny student, same
seed, W&B off) and prints wall time and median step time, with the ratio to the baseline measured in the same run:

    baseline = generation.backend: transformers

    python benchmarks/demo_backend.py                                   # 20 steps from a random student
    python benchmarks/demo_backend.py --steps 40 --model runs/demo/sft  # from the demo's SFT student
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run(backend: str, model_dir: Path, out: Path, steps: int) -> tuple[float, float]:
    """(wall seconds of the whole `rlkd train`, median step_time of steps 2..N) for one backend."""
    overrides = [
        f"model.name_or_path={model_dir}",
        f"generation.backend={backend}",
        f"grpo.output_dir={out}",
        f"grpo.max_steps={steps}",
        "grpo.save_steps=100000",
        "wandb.mode=disabled",
    ]
    start = time.perf_counter()
    cmd = [sys.executable, "-m", "rlkd.cli", "train", str(REPO / "configs" / "tiny-cpu.yaml"), *overrides]
    subprocess.run(cmd, cwd=REPO, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    lines = (out / "metrics.jsonl").read_text().splitlines()
    step_times = [r["step_time"] for r in map(json.loads, lines) if "step_time" in r]
    return wall, statistics.median(step_times[1:])  # step 1 pays one-off costs (vLLM's sampler compile)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=20, help="optimizer steps per run")
    p.add_argument(
        "--model",
        type=Path,
        default=None,
        help="a student to start from, e.g. runs/demo/sft (default: a "
        "fresh random tiny model, whose completions all run to the length limit)",
    )
    a = p.parse_args()
    from rlkd.demo.tiny import save_tiny_model

    with tempfile.TemporaryDirectory() as tmp:
        model_dir = a.model or save_tiny_model(Path(tmp) / "tiny-model")
        results = {b: run(b, model_dir, Path(tmp) / b, a.steps) for b in ("transformers", "vllm")}
    base_wall, base_step = results["transformers"]
    print(f"configs/tiny-cpu.yaml, {a.steps} steps; ratios are to generation.backend: transformers (baseline)")
    for backend, (wall, step) in results.items():
        print(
            f"{backend:>12}: wall {wall:6.1f}s (x{wall / base_wall:4.2f}) | "
            f"median step {step:5.2f}s (x{step / base_step:4.2f})"
        )


if __name__ == "__main__":
    main()
