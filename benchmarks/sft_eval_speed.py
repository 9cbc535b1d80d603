"""SFT and eval speed on the tiny student, each against a baseline measured in the same run.

1. SFT: training examples/s with the short "{question}=" user message the tiny config uses, against the
   arithmetic generator's default "Compute {question}. Put the answer in \\boxed{}." (one token per character,
   so the prompt is most of each sequence).
2. Eval generation: completions/s of the batched `generate` rlkd eval uses, against one prompt at a time.

    python benchmarks/sft_eval_speed.py [--steps 60] [--prompts 64]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def _config(model_dir: Path, out: Path, template: str | None, steps: int):
    from rlkd.config import parse_config

    gen_args = {"num_train": 256, "num_eval": 64, "min_digits": 1, "max_digits": 2, "ops": ["+", "-"]}
    if template is not None:
        gen_args["template"] = template
    return parse_config(
        {
            "model": {"name_or_path": str(model_dir)},
            "data": {"generator": "arithmetic", "generator_args": gen_args, "thinking": "mixed"},
            "rewards": [{"name": "accuracy"}],
            "wandb": {"mode": "disabled"},
            "sft": {
                "num_problems": 2000,
                "args": {
                    "max_steps": steps,
                    "per_device_train_batch_size": 32,
                    "learning_rate": 5e-3,
                    "save_strategy": "no",
                    "disable_tqdm": True,
                    "logging_steps": steps,
                },
            },
            "grpo": {"output_dir": str(out)},
        }
    )


def sft_examples_per_second(model_dir: Path, out: Path, template: str | None, steps: int) -> float:
    from rlkd.commands.sft import run_sft
    from rlkd.config import sft_output_dir
    from rlkd.io import read_jsonl

    cfg = _config(model_dir, out, template, steps)
    run_sft(cfg)
    final = [r for r in read_jsonl(sft_output_dir(cfg) / "metrics.jsonl") if "train_runtime" in r][-1]
    return final["train_samples_per_second"]


def generation_rate(model_dir: Path, prompts: int, batch_size: int) -> float:
    from rlkd.config import ModelConfig
    from rlkd.generation.offline import Sampling, TransformersGenerator
    from rlkd.model import load_policy

    model, tok = load_policy(ModelConfig(name_or_path=str(model_dir)))
    msgs = [
        [{"role": "system", "content": "detailed thinking on"}, {"role": "user", "content": f"{i}+{i}="}]
        for i in range(prompts)
    ]
    start = time.perf_counter()
    TransformersGenerator(model, tok, batch_size).generate(msgs, Sampling(max_new_tokens=48), seed=0)
    return prompts / (time.perf_counter() - start)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--prompts", type=int, default=64)
    args = p.parse_args()
    import logging

    logging.disable(logging.WARNING)
    from rlkd.demo.tiny import save_tiny_model

    with tempfile.TemporaryDirectory() as tmp:
        model_dir = save_tiny_model(Path(tmp) / "tiny")
        base = sft_examples_per_second(model_dir, Path(tmp) / "long", None, args.steps)
        short = sft_examples_per_second(model_dir, Path(tmp) / "short", "{question}=", args.steps)
        print(f"sft   baseline (default prompt)  {base:8.1f} examples/s")
        print(f"sft   short '{{question}}=' prompt {short:8.1f} examples/s   ratio {short / base:.2f}x")
        one = generation_rate(model_dir, args.prompts // 4, batch_size=1)
        batched = generation_rate(model_dir, args.prompts, batch_size=64)
        print(f"eval  baseline (one prompt/call)  {one:8.1f} completions/s")
        print(f"eval  batched (64 per call)       {batched:8.1f} completions/s   ratio {batched / one:.2f}x")


if __name__ == "__main__":
    main()
