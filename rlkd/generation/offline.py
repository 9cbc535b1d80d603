"""The one offline generate: every stage that samples outside a GRPO step (eval, passrate, the benchmarks) goes
through here, with the transformers or the vLLM backend and every `generation:` setting.

    generator = open_generator(cfg, batch_size=64)              # cfg.generation.backend decides which
    outs = generator.generate(prompts, Sampling.from_config(cfg.generation, n=8), seed=0)
    generator.close()

`outs[i]` holds prompt i's n completions as (text, generated tokens). Texts are decoded the way TRL decodes them
(special tokens skipped, so think tags survive only if they are not special); the token count includes the
end-of-turn token, as TRL counts completion lengths. Prompts are rendered by rlkd.model.render_prompts, as TRL and
the length check render them.

Seeding: `generate(..., seed)` reseeds at the start of the call, in a forked RNG so a call made during training
(an evaluation callback) neither varies between runs nor moves training's random stream. A greedy call consumes no
randomness, so greedy then sampled calls with the same seed sample what a sampled call alone would.
`generate(..., seed=[s0, s1, ...])` gives each prompt its own seed instead: prompt i's group is drawn from its own
random stream, the same whatever prompts share its call or batch, so a resumed `rlkd passrate` (whose batches
start wherever the kill left off) draws what an uninterrupted run would. vLLM seeds each request; the transformers
backend samples each prompt's rows from its own generator after the run's sampling filters (`_PromptStreams`). The
logits a prompt's rows see in a padded batch equal those it sees alone up to float rounding, so on the transformers
backend a draw could differ only where two tokens' cumulative probabilities tie to rounding.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from rlkd.config import GenerationConfig, RunConfig

logger = logging.getLogger(__name__)

Completion = tuple[str, int]  # (text, generated tokens)


@dataclass(frozen=True)
class Sampling:
    """How one generate call samples: `n` completions per prompt, greedy or with the sampling filters."""

    n: int = 1
    greedy: bool = False
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0  # 0: off
    min_p: float | None = None
    repetition_penalty: float = 1.0  # applies to greedy decoding too: it changes the distribution, not the sampler
    max_new_tokens: int = 256

    @classmethod
    def from_config(cls, gen: GenerationConfig, **overrides: Any) -> Sampling:
        """The run's generation settings; `overrides` set n, greedy or any setting (None keeps the run's)."""
        base = cls(**gen.sampling(), max_new_tokens=gen.max_completion_length)
        return dataclasses.replace(base, **{k: v for k, v in overrides.items() if v is not None})


Seed = int | Sequence[int]  # one seed for the call, or one per prompt


class OfflineGenerator(Protocol):
    tokenizer: Any  # the model's, as loaded by rlkd.model.load_tokenizer

    def generate(
        self, prompts: Sequence[Any], sampling: Sampling, seed: Seed, template_kwargs: Sequence[dict] | None = None
    ) -> list[list[Completion]]: ...

    def close(self) -> None: ...


class TransformersGenerator:
    """`model.generate` on the policy, `batch_size` sequences (prompts × n) per call."""

    def __init__(self, model, tokenizer, batch_size: int = 64):
        self.model, self.tokenizer, self.batch_size = model, tokenizer, batch_size

    def generate(
        self, prompts: Sequence[Any], sampling: Sampling, seed: Seed, template_kwargs: Sequence[dict] | None = None
    ) -> list[list[Completion]]:
        import torch
        from transformers import GenerationConfig as HFGenerationConfig
        from transformers import LogitsProcessorList

        from rlkd.model import render_prompts
        from rlkd.threads import POLICY

        POLICY.adjust()  # eval and passrate sample for minutes: follow the box's load as training does
        tok, n = self.tokenizer, sampling.n
        eos = tok.eos_token_id
        filters = dict(temperature=sampling.temperature, top_p=sampling.top_p, top_k=sampling.top_k)
        if sampling.min_p is not None:
            filters["min_p"] = sampling.min_p
        config = HFGenerationConfig(
            do_sample=not sampling.greedy,
            num_return_sequences=n,
            max_new_tokens=sampling.max_new_tokens,
            repetition_penalty=sampling.repetition_penalty,
            eos_token_id=eos,
            pad_token_id=tok.pad_token_id,
            **({} if sampling.greedy else filters),
        )
        texts = render_prompts(tok, prompts, template_kwargs)
        seeds = _per_prompt(seed, len(texts))
        per_call = max(1, self.batch_size // n)
        out: list[list[Completion]] = []
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad(), torch.random.fork_rng():
                torch.manual_seed(seed if seeds is None else 0)
                for start in range(0, len(texts), per_call):
                    streams = None
                    if seeds is not None and not sampling.greedy:
                        streams = LogitsProcessorList([_PromptStreams(seeds[start : start + per_call], sampling)])
                    enc = tok(
                        texts[start : start + per_call],
                        return_tensors="pt",
                        padding=True,
                        padding_side="left",
                        add_special_tokens=False,
                    ).to(self.model.device)
                    seqs = self.model.generate(**enc, generation_config=config, logits_processor=streams)
                    completions = seqs[:, enc["input_ids"].shape[1] :].tolist()  # (B·n, T), grouped by prompt
                    for i in range(0, len(completions), n):
                        out.append([_decode(tok, ids, eos) for ids in completions[i : i + n]])
        finally:
            self.model.train(was_training)
        return out

    def close(self) -> None:
        pass


def _per_prompt(seed: Seed, count: int) -> list[int] | None:
    """The per-prompt seeds of a `seed` argument (None: one seed for the call)."""
    if isinstance(seed, int):
        return None
    seeds = [int(s) for s in seed]
    if len(seeds) != count:
        raise ValueError(f"generate: {len(seeds)} seeds for {count} prompts")
    return seeds


class _PromptStreams:
    """A logits processor that samples each prompt's rows from that prompt's own generator (rows are grouped by
    prompt, `n` each, as `num_return_sequences` lays them out). It applies the run's sampling filters itself, with
    transformers' own warpers in transformers' order, draws one token per row by inverting the CDF with a uniform
    from the prompt's stream, and returns a distribution with all mass on that token: transformers' own warpers and
    sampler, which run after it, then pick exactly that token."""

    def __init__(self, seeds: list[int], sampling: Sampling):
        import torch
        from transformers import MinPLogitsWarper, TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

        self.n = sampling.n
        self.generators = [torch.Generator().manual_seed(s) for s in seeds]
        self.warpers = []
        if sampling.temperature != 1.0:
            self.warpers.append(TemperatureLogitsWarper(sampling.temperature))
        if sampling.top_k > 0:
            self.warpers.append(TopKLogitsWarper(top_k=sampling.top_k))
        if sampling.top_p < 1.0:
            self.warpers.append(TopPLogitsWarper(top_p=sampling.top_p))
        if sampling.min_p is not None:
            self.warpers.append(MinPLogitsWarper(min_p=sampling.min_p))

    def __call__(self, input_ids, scores):
        import torch

        for warp in self.warpers:
            scores = warp(input_ids, scores)
        cdf = torch.softmax(scores.float(), dim=-1).cumsum(-1)  # (B·n, V)
        u = torch.cat([torch.rand(self.n, generator=g, dtype=torch.float64) for g in self.generators])
        u = (u.to(cdf.device, cdf.dtype).unsqueeze(1) * cdf[:, -1:]).contiguous()  # (B·n, 1)
        tokens = torch.searchsorted(cdf, u, right=True).clamp(max=scores.shape[-1] - 1)  # a 0-mass token: never
        one_hot = torch.full_like(scores, float("-inf"))
        return one_hot.scatter_(1, tokens, 0.0)


def _decode(tokenizer, ids: list[int], eos: int) -> Completion:
    length = ids.index(eos) + 1 if eos in ids else len(ids)  # tokens after the first end-of-turn are padding
    return tokenizer.decode(ids[:length], skip_special_tokens=True), length


class VLLMGenerator:
    """An in-process `vllm.LLM` on the model at `path`, built with the run's engine settings (the same
    rlkd.generation.engine arguments the colocated GRPO engine gets), sampling with `vllm_cpu_threads` on CPU."""

    def __init__(self, cfg: RunConfig, path: str | None = None, num_seqs: int = 64):
        import torch
        from vllm import LLM

        from rlkd.generation.engine import engine_kwargs, new_engine, preserved_torch_threads
        from rlkd.model import load_model_config, load_tokenizer

        gen, model_cfg = cfg.generation, cfg.model
        if path is not None:
            model_cfg = dataclasses.replace(model_cfg, name_or_path=path)
        self.tokenizer = load_tokenizer(model_cfg)
        hf_config = load_model_config(model_cfg)
        self.cuda = torch.cuda.is_available()
        dtype = getattr(hf_config, "dtype", None) if model_cfg.dtype == "auto" else getattr(torch, model_cfg.dtype)
        kwargs: dict[str, Any] = dict(
            model=model_cfg.name_or_path,
            revision=model_cfg.revision,
            trust_remote_code=model_cfg.trust_remote_code,
            dtype=dtype or "auto",
            seed=0,
            max_model_len=gen.vllm_max_model_length,
        )
        if self.cuda:
            kwargs["gpu_memory_utilization"] = gen.vllm_gpu_memory_utilization
        kwargs.update(engine_kwargs(gen, hf_config, dtype or torch.float32, num_seqs, self.cuda))
        with preserved_torch_threads():
            self.llm = new_engine(LLM, **kwargs)
        self.threads = gen.vllm_cpu_threads or 1
        if not self.cuda:
            logger.info(
                "offline vLLM engine on %s: sampling with %d torch threads", model_cfg.name_or_path, self.threads
            )

    def generate(
        self, prompts: Sequence[Any], sampling: Sampling, seed: Seed, template_kwargs: Sequence[dict] | None = None
    ) -> list[list[Completion]]:
        from contextlib import nullcontext

        from vllm import SamplingParams

        from rlkd.generation.cpu_sync import torch_threads
        from rlkd.model import render_prompts

        texts = render_prompts(self.tokenizer, prompts, template_kwargs)
        ids = [self.tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
        settings = dict(
            n=sampling.n,
            temperature=0.0 if sampling.greedy else sampling.temperature,
            top_p=1.0 if sampling.greedy else sampling.top_p,
            top_k=-1 if sampling.greedy or sampling.top_k <= 0 else sampling.top_k,
            min_p=0.0 if sampling.greedy else (sampling.min_p or 0.0),
            repetition_penalty=sampling.repetition_penalty,
            max_tokens=sampling.max_new_tokens,
        )
        seeds = _per_prompt(seed, len(ids))
        # one seed for the call, or one per request: vLLM seeds each request's own generator
        params = (
            SamplingParams(**settings, seed=seed)
            if seeds is None
            else [SamplingParams(**settings, seed=s) for s in seeds]
        )
        with nullcontext() if self.cuda else torch_threads(self.threads):
            outs = self.llm.generate([{"prompt_token_ids": p} for p in ids], params, use_tqdm=False)
        return [[(o.text, len(o.token_ids)) for o in out.outputs] for out in outs]

    def close(self) -> None:
        self.llm.llm_engine.engine_core.shutdown()


def open_generator(cfg: RunConfig, path: str | None = None, batch_size: int = 64) -> OfflineGenerator:
    """The generator for `cfg.generation.backend`, on the model at `path` (default: the config's model)."""
    if cfg.generation.backend == "vllm":
        return VLLMGenerator(cfg, path, num_seqs=batch_size)
    from rlkd.model import load_policy

    model_cfg = cfg.model if path is None else dataclasses.replace(cfg.model, name_or_path=path)
    model, tokenizer = load_policy(model_cfg)
    return TransformersGenerator(model, tokenizer, batch_size)
