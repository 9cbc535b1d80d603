"""GRPO step time, tokens/s and model FLOPs utilisation on one CUDA GPU (transformers backend, ~0.5B random init).

The baseline is this GPU's bf16 matmul peak, measured in the same run (large square matmuls), so MFU reads against
what the card actually delivers rather than a datasheet. The model is a locally built random-init Qwen2 with
rlkd's byte-level tokenizer: nearly all of its ~0.5B parameters sit in the transformer layers (a 151k-token vocab
would add ~136M embedding parameters that do little compute per token). Training runs through `rlkd train` code
paths (run_training) with the arithmetic task, bf16, and `generation.backend: transformers`.

Model FLOPs per optimizer step, from the tokens TRL counts (`num_tokens`: prompt + completion tokens of the batch):
    generation  2 * N * T   (prefill + one forward per decoded token)
    training    6 * N * T   (forward + backward of the policy; gradient-checkpoint recompute is not counted)
Attention score FLOPs are left out (sequences here are a few hundred tokens, where they are small next to 2N).

    python benchmarks/gpu_step.py                # needs CUDA; refuses with exit 2 otherwise
    python benchmarks/gpu_step.py --steps 8 --batch 64 --group 8 --completion 512
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

# ~0.48B parameters: 24 layers x (attention 2.4M + MLP 17.3M) at hidden 1024, head_dim 64
MODEL = {
    "hidden_size": 1024,
    "layers": 24,
    "heads": 16,
    "kv_heads": 4,
    "intermediate_size": 5632,
    "max_positions": 2048,
}


def step_model_flops(params: int, tokens: int) -> float:
    """Model FLOPs of one GRPO step over `tokens` prompt + completion tokens: 2N per token to sample, 6N to train."""
    return 8.0 * params * tokens


def matmul_peak_tflops(device: str = "cuda", dtype=None, n: int = 8192, iters: int = 20) -> float:
    """Best measured throughput of an n x n @ n x n matmul, in TFLOP/s."""
    import torch

    dtype = dtype or torch.bfloat16
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    best = float("inf")
    for _ in range(3):
        torch.matmul(a, b)  # warm-up: cuBLAS heuristics, clocks
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(iters):
            torch.matmul(a, b)
        if device == "cuda":
            torch.cuda.synchronize()
        best = min(best, (time.perf_counter() - start) / iters)
    return 2 * n**3 / best / 1e12


def run_steps(out: Path, steps: int, batch: int, group: int, completion: int) -> tuple[list[dict], int]:
    """Train `steps` GRPO steps; return the per-step metrics records and the policy's parameter count."""
    from transformers import AutoModelForCausalLM

    from rlkd.commands.train import run_training
    from rlkd.config import parse_config
    from rlkd.demo.tiny import save_tiny_model
    from rlkd.io import read_jsonl

    model_dir = save_tiny_model(out / "model", **MODEL)
    params = sum(p.numel() for p in AutoModelForCausalLM.from_pretrained(model_dir).parameters())
    cfg = parse_config(
        {
            "model": {"name_or_path": str(model_dir), "dtype": "float32"},
            "data": {"generator": "arithmetic", "generator_args": {"num_train": 1024, "num_eval": 8}},
            "rewards": [{"name": "accuracy"}, {"name": "format", "weight": 0.5}],
            "generation": {"backend": "transformers", "max_completion_length": completion},
            "wandb": {"mode": "disabled"},
            "grpo": {
                "output_dir": str(out / "run"),
                "max_steps": steps,
                "per_device_train_batch_size": batch,
                "num_generations": group,
                "bf16": True,
                "learning_rate": 1e-6,
                "logging_steps": 1,
                "save_strategy": "no",
                "seed": 0,
            },
        }
    )
    run_training(cfg)
    records = [r for r in read_jsonl(out / "run" / "metrics.jsonl") if "step_time" in r and "num_tokens" in r]
    return records, params


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=6, help="optimizer steps; the first is warm-up and not counted")
    p.add_argument("--batch", type=int, default=32, help="completions per step (per_device_train_batch_size)")
    p.add_argument("--group", type=int, default=8, help="completions per prompt (num_generations)")
    p.add_argument("--completion", type=int, default=256, help="max_completion_length")
    a = p.parse_args(argv)
    import torch

    if not torch.cuda.is_available():
        print("gpu_step.py: no CUDA GPU found; this benchmark measures GPU step time and MFU only", file=sys.stderr)
        return 2
    if a.steps < 2:
        print("gpu_step.py: --steps must be >= 2 (the first step is warm-up)", file=sys.stderr)
        return 2
    peak = matmul_peak_tflops()
    print(f"{torch.cuda.get_device_name()}: measured bf16 matmul peak {peak:.1f} TFLOP/s (baseline)")
    with tempfile.TemporaryDirectory() as tmp:
        records, params = run_steps(Path(tmp), a.steps, a.batch, a.group, a.completion)
    timed = records[1:]  # step 1 pays for CUDA context, kernels' autotuning and allocator growth
    tokens = [r["num_tokens"] - prev["num_tokens"] for prev, r in zip(records, records[1:])]
    step_time = statistics.median(r["step_time"] for r in timed)
    tok_s = statistics.median(t / r["step_time"] for t, r in zip(tokens, timed))
    mfu = statistics.median(
        step_model_flops(params, t) / r["step_time"] / (peak * 1e12) for t, r in zip(tokens, timed)
    )
    print(
        f"model {params / 1e9:.2f}B params, {a.batch} completions/step ({a.group} per prompt), "
        f"max {a.completion} tokens; median over steps 2-{a.steps}:"
    )
    print(f"  step time {step_time:.2f} s | {tok_s:,.0f} tokens/s | MFU {mfu:.1%} of the measured bf16 peak")
    return 0


if __name__ == "__main__":
    sys.exit(main())
