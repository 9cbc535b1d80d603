"""Group-sampling throughput on this machine: vLLM vs transformers `generate`, same model, same prompts, one run.

GRPO samples `group` completions for each of `prompts` prompts every step. This script times exactly that (fixed
length: EOS is ignored so both backends produce the same number of tokens) for locally built random-init Qwen2
students of several sizes, and prints tokens/s and the ratio to the baseline measured in the same run:

    baseline = transformers `generate` with the process's torch threads (what `generation.backend: transformers`
               does in rlkd today)

vLLM runs with rlkd's CPU engine settings (policy dtype, eager, explicit KV cache; rlkd.vllm_engine) and with
1 torch thread (rlkd's default while vLLM samples) and with the process's thread count, and transformers is timed
with 1 thread too, so the thread effect is not mistaken for a backend effect. Prompts are duplicated `group` times
and sampled with n=1 each, as TRL's colocate mode does.

    python benchmarks/generation_throughput.py                       # tiny, 25M and 90M models
    python benchmarks/generation_throughput.py --sizes tiny --batches 4x8
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

# name: rlkd.tiny.build_model arguments (byte-level vocab of 263, so nearly all parameters are in the layers)
SIZES = {
    "tiny": {},
    "25m": {"hidden_size": 512, "layers": 8, "heads": 8, "kv_heads": 2, "intermediate_size": 1536},
    "90m": {"hidden_size": 1024, "layers": 8, "heads": 16, "kv_heads": 4, "intermediate_size": 2816},
}


def _prompts(tokenizer, n: int) -> list[list[int]]:
    from rlkd.arithmetic import generate

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


def _timed(fn, repeats: int) -> float:
    """Median wall time of `repeats` calls after one untimed warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
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

    params = SamplingParams(n=1, temperature=1.0, top_p=1.0, top_k=0, max_tokens=tokens, ignore_eos=True, seed=0)
    batch = [{"prompt_token_ids": p} for p in prompt_ids]
    return lambda: llm.generate(batch, params, use_tqdm=False)


def _engine(model_dir: Path, model, num_seqs: int):
    import torch
    from vllm import LLM

    from rlkd.config import GenerationConfig
    from rlkd.vllm_engine import engine_kwargs, new_engine, preserved_torch_threads

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
            **engine_kwargs(GenerationConfig(), model, num_seqs, cuda=torch.cuda.is_available()),
        )


def bench(sizes: list[str], batches: list[tuple[int, int]], tokens: int, repeats: int) -> list[dict]:
    import torch
    from transformers import AutoModelForCausalLM

    from rlkd.tiny import build_model, build_tokenizer
    from rlkd.vllm_cpu import torch_threads

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
            params = sum(p.numel() for p in model.parameters())
            most = max(p * g for p, g in batches)
            start = time.perf_counter()
            llm = _engine(model_dir, model, most)
            engine_start = time.perf_counter() - start
            for n_prompts, group in batches:
                prompt_ids = [p for p in _prompts(tokenizer, n_prompts) for _ in range(group)]  # (P*G) rows
                total = len(prompt_ids) * tokens
                hf, vl = _transformers_run(model, tokenizer, prompt_ids, tokens), _vllm_run(llm, prompt_ids, tokens)
                base = _timed(hf, repeats)
                with torch_threads(1):
                    hf1 = _timed(hf, repeats)
                    vl1 = _timed(vl, repeats)
                vln = _timed(vl, repeats)
                row = {
                    "model": size,
                    "params_m": params / 1e6,
                    "seqs": f"{n_prompts}x{group}",
                    "engine_start_s": engine_start,
                    f"transformers_{threads}t": total / base,
                    "transformers_1t": total / hf1,
                    "vllm_1t": total / vl1,
                    f"vllm_{threads}t": total / vln,
                }
                rows.append(row)
                _print_row(row, threads)
            del llm, model
    return rows


def _print_row(row: dict, threads: int) -> None:
    base = row[f"transformers_{threads}t"]
    cells = [f"{k} {row[k]:8.0f} tok/s (x{row[k] / base:4.2f})" for k in row if k.endswith("t")]
    print(
        f"{row['model']:>5} {row['params_m']:6.1f}M {row['seqs']:>5} engine start {row['engine_start_s']:4.1f}s | "
        + " | ".join(cells),
        flush=True,
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="tiny,25m,90m", help=f"comma-separated, from {', '.join(SIZES)}")
    p.add_argument("--batches", default="4x8,16x8", help="comma-separated PROMPTSxGROUP, e.g. 16x8")
    p.add_argument("--tokens", type=int, default=48, help="completion length (EOS ignored)")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per measurement (median reported)")
    a = p.parse_args()
    batches = [tuple(int(x) for x in b.split("x")) for b in a.batches.split(",")]
    import torch

    print(
        f"group sampling, {a.tokens} tokens per completion, median of {a.repeats}; torch threads "
        f"{torch.get_num_threads()}; ratios are to transformers with {torch.get_num_threads()} threads (baseline)"
    )
    rows = bench(a.sizes.split(","), batches, a.tokens, a.repeats)
    threads = torch.get_num_threads()
    wins = [f"{r['model']} {r['seqs']}" for r in rows if r["vllm_1t"] > r[f"transformers_{threads}t"]]
    print("vLLM (1 thread) beats the baseline for: " + (", ".join(wins) if wins else "none of these"))


if __name__ == "__main__":
    main()
