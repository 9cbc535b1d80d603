"""LoRA against full fine-tuning: the same GRPO steps on the same student, one fresh process per arm.

LoRA's promise is memory: the optimizer keeps Adam's two moments for the trained parameters only, so its state
shrinks by the fraction LoRA trains. This measures, per arm, with the ratio to full fine-tuning (the baseline)
from the same invocation:

- trainable parameters (exact);
- optimizer state and gradient bytes after training (exact: summed over the tensors);
- peak RSS of the arm's process (getrusage high-water mark: weights, the reference model that full fine-tuning
  copies for the KL term while LoRA reuses the base with its adapter off, optimizer, activations, and ~0.7 GiB of
  Python, torch and TRL), and its growth while training (minus the RSS before `train()`); noisy, allocator slack
  included;
- median step time of steps 2..N (step 1 pays one-off costs).

Each arm builds its trainer through rlkd's one builder from configs/tiny-cpu.yaml (W&B off, no checkpoints), with
`peft:` at rlkd's defaults (r 16, alpha 32, every linear layer) for the LoRA arm:

    python benchmarks/lora_vs_full.py                       # tiny 0.3M and 25M students, 10 steps each
    python benchmarks/lora_vs_full.py --sizes tiny --steps 20
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SIZES = {
    "tiny": {},  # rlkd.demo.tiny's defaults: hidden 128, 2 layers (0.3M parameters, tied embeddings)
    "25m": {"hidden_size": 512, "layers": 8, "heads": 8, "kv_heads": 2, "intermediate_size": 1536},
}
ARMS = {"full": [], "lora": ["peft.r=16"]}  # an override is enough to switch the peft section on, at its defaults


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def _tensor_bytes(tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


def worker(arm: str, model_dir: str, out: str, steps: int, batch: int) -> None:
    """One arm in this process: build, train `steps` steps, write the measurements to `out` (JSON)."""
    import torch

    from rlkd.config import load_config
    from rlkd.training.builder import build_trainer, prepare_run

    overrides = [
        f"model.name_or_path={model_dir}",
        f"grpo.output_dir={Path(out).with_suffix('')}",
        f"grpo.max_steps={steps}",
        f"grpo.per_device_train_batch_size={batch}",
        "grpo.save_strategy=no",
        "wandb.mode=disabled",
        *ARMS[arm],
    ]
    trainer = build_trainer(prepare_run(load_config(REPO / "configs" / "tiny-cpu.yaml", overrides)))
    params = list(trainer.model.parameters())
    trainable = [p for p in params if p.requires_grad]
    rss_before = _rss_bytes()
    trainer.train()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    state = [v for s in trainer.optimizer.state.values() for v in s.values() if torch.is_tensor(v)]
    step_times = [r["step_time"] for r in trainer.state.log_history if "step_time" in r]
    record = {
        "params": sum(p.numel() for p in params),
        "trainable": sum(p.numel() for p in trainable),
        "optimizer_bytes": _tensor_bytes(state),
        "grad_bytes": _tensor_bytes(trainable),  # one gradient per trained parameter, same dtype
        "peak_rss": peak,
        "peak_rss_growth": peak - rss_before,
        "step_time": statistics.median(step_times[1:]),
    }
    Path(out).write_text(json.dumps(record))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="tiny,25m", help=f"comma-separated, of {', '.join(SIZES)}")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--batch", type=int, default=32, help="completions per step (num_generations 8 from the config)")
    p.add_argument("--worker", nargs=3, metavar=("ARM", "MODEL_DIR", "OUT"), help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker:
        worker(*a.worker, steps=a.steps, batch=a.batch)
        return
    from rlkd.demo.tiny import save_tiny_model

    print(f"GRPO, configs/tiny-cpu.yaml, {a.steps} steps x {a.batch} completions; ratios are LoRA / full (baseline)")
    print("| student | arm | params | trainable | optimizer state | gradients | peak RSS | growth in train() | step |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for size in a.sizes.split(","):
            model_dir = save_tiny_model(Path(tmp) / size, **SIZES[size])
            results = {}
            for arm in ARMS:
                out = Path(tmp) / f"{size}-{arm}.json"
                cmd = [sys.executable, __file__, "--steps", str(a.steps), "--batch", str(a.batch)]
                subprocess.run(
                    [*cmd, "--worker", arm, str(model_dir), str(out)], cwd=REPO, check=True, capture_output=True
                )
                results[arm] = json.loads(out.read_text())
            full = results["full"]
            for arm, r in results.items():
                cells = [f"{r['params'] / 1e6:.2f}M"]
                for key, unit in (("trainable", 1e6), ("optimizer_bytes", 2**20), ("grad_bytes", 2**20)):
                    suffix = "M" if key == "trainable" else " MiB"
                    cells.append(f"{r[key] / unit:.3f}{suffix} (x{r[key] / full[key]:.3f})")
                for key in ("peak_rss", "peak_rss_growth"):
                    cells.append(f"{r[key] / 2**20:.0f} MiB (x{r[key] / max(full[key], 1):.2f})")
                cells.append(f"{r['step_time']:.2f} s (x{r['step_time'] / full['step_time']:.2f})")
                print(f"| {size} | {arm} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
