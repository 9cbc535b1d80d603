"""Sampling k completions per prompt outside training (pass-rate estimation), with the run's generation settings.

A backend is a function `(prompts, n, seed) -> n completion texts per prompt`: prompts are chat messages, texts are
decoded the way TRL decodes them (special tokens skipped, so think tags survive only if they are not special).
`transformers` runs `model.generate` on the policy; `vllm` runs an in-process `vllm.LLM` (the fast path on a GPU
box). A new backend is one more function here; `rlkd passrate` only sees the signature.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rlkd.config import GenerationConfig, RunConfig

SampleFn = Callable[[Sequence[Any], int, int], list[list[str]]]


def make_sample_fn(cfg: RunConfig) -> SampleFn:
    if cfg.generation.backend == "vllm":
        return vllm_sample_fn(cfg)
    from rlkd.model import load_policy

    model, tokenizer = load_policy(cfg.model)
    return transformers_sample_fn(model, tokenizer, cfg.generation)


def transformers_sample_fn(model, tokenizer, gen: GenerationConfig) -> SampleFn:
    import torch

    model.eval()

    def sample(prompts: Sequence[Any], n: int, seed: int) -> list[list[str]]:
        texts = [tokenizer.apply_chat_template(p, add_generation_prompt=True, tokenize=False) for p in prompts]
        enc = tokenizer(texts, return_tensors="pt", padding=True, padding_side="left", add_special_tokens=False)
        torch.manual_seed(seed)  # a batch samples the same completions whenever it runs (resume included)
        with torch.no_grad():
            out = model.generate(
                **enc.to(model.device),
                do_sample=True,
                temperature=gen.temperature,
                top_p=gen.top_p,
                top_k=gen.top_k or None,
                min_p=gen.min_p,
                repetition_penalty=gen.repetition_penalty,
                max_new_tokens=gen.max_completion_length,
                num_return_sequences=n,
                pad_token_id=tokenizer.pad_token_id,
            )
        decoded = tokenizer.batch_decode(out[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
        return [decoded[i * n : (i + 1) * n] for i in range(len(prompts))]  # generate groups by prompt

    return sample


def vllm_sample_fn(cfg: RunConfig) -> SampleFn:
    from vllm import LLM, SamplingParams

    gen = cfg.generation
    llm = LLM(
        model=cfg.model.name_or_path,
        revision=cfg.model.revision,
        trust_remote_code=cfg.model.trust_remote_code,
        dtype=cfg.model.dtype,
        seed=cfg.passrate.seed,
    )

    def sample(prompts: Sequence[Any], n: int, seed: int) -> list[list[str]]:
        params = SamplingParams(
            n=n,
            temperature=gen.temperature,
            top_p=gen.top_p,
            top_k=gen.top_k if gen.top_k > 0 else -1,
            min_p=gen.min_p or 0.0,
            repetition_penalty=gen.repetition_penalty,
            max_tokens=gen.max_completion_length,
            seed=seed,
        )
        outs = llm.chat(list(prompts), params, use_tqdm=False)
        return [[o.text for o in out.outputs] for out in outs]

    return sample
