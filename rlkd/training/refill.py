"""DAPO's dynamic sampling that refills the batch (`curriculum.dynamic_sampling: refill`).

A group whose accuracy is all 0 or all 1 has zero advantage everywhere: it costs its rollouts and teaches nothing.
Masking such groups (`mask`) shrinks the trained batch; refilling replaces them. After TRL has generated and scored
the generation batch, the zero-variance groups (by the curriculum's reward, from the gathered rewards, so every rank
sees the same) are replaced by groups of extra prompts the curriculum supplies at its current target, generated and
scored in further rounds by the same TRL method, until the batch holds its full number of informative groups or
`curriculum.max_refill_rounds` extra rounds have run; groups still zero-variance then are masked as in `mask`.

It wraps TRL's `_generate_and_score_completions` (called once per round) and copies none of it. Lockstep across
ranks: each rank keeps the generation batch's layout (its own whole groups) and replaces its own zero-variance
groups with informative groups it generated itself; every rank generates the same number of extra groups per round
(the most any rank still needs), decided from gathered rewards only, so collective calls line up.

What differs from one big batch: advantages are normalised per call. With TRL's default per-group scaling that is
exactly what one batch would give; with `scale_rewards: batch` or `multi_objective_aggregation: normalize_then_sum`
the batch statistics are those of the round a group came from. TRL's reward and length metrics, and its
completions table, count every generated group (the cost), not only the trained ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

# Output keys whose first dimension is the local batch, by where their padding goes.
LEFT_PADDED = ("prompt_ids", "prompt_mask")
RIGHT_PADDED = (
    "completion_ids",
    "completion_mask",
    "old_per_token_logps",
    "sampling_per_token_logps",
    "ref_per_token_logps",
    "importance_sampling_ratio",
    "tool_mask",
)
PER_SAMPLE = ("advantages",)
SCALAR = ("num_items_in_batch",)


def _pad(t: torch.Tensor, length: int, side: str, value: float) -> torch.Tensor:
    if t.dim() < 2 or t.shape[1] >= length:
        return t
    fill = t.new_full((t.shape[0], length - t.shape[1], *t.shape[2:]), value)
    return torch.cat([fill, t] if side == "left" else [t, fill], dim=1)


def merge_groups(
    base: dict[str, Any], slots: list[int], donors: list[tuple[dict[str, Any], int]], group: int, pad_id: int
) -> dict[str, Any]:
    """`base` with local group `slots[j]` replaced by group `donors[j][1]` of output `donors[j][0]`; samples of a
    group are `group` consecutive rows. Tensors are re-padded to the longest prompt/completion among them."""
    unknown = sorted(k for k, v in base.items() if k not in (*LEFT_PADDED, *RIGHT_PADDED, *PER_SAMPLE, *SCALAR))
    if unknown:
        raise RuntimeError(
            f"dynamic_sampling: refill cannot merge TRL's output keys {unknown} (multimodal or tool inputs): use "
            "dynamic_sampling: mask"
        )
    out = dict(base)
    for key in (*LEFT_PADDED, *RIGHT_PADDED, *PER_SAMPLE):
        if base.get(key) is None:
            continue
        side = "left" if key in LEFT_PADDED else "right"
        value = (
            pad_id if key in ("prompt_ids", "completion_ids") else (1.0 if key == "importance_sampling_ratio" else 0)
        )
        parts = [base[key], *(d[key] for d, _ in donors)]
        if base[key].dim() >= 2:  # (B, T): pad every part to the longest T ((B, 1) sequence ratios are all 1 wide)
            length = max(p.shape[1] for p in parts)
            parts = [_pad(p, length, side, value) for p in parts]
        merged = parts[0].clone()
        for slot, (part, (_, g)) in zip(slots, zip(parts[1:], donors)):
            merged[slot * group : (slot + 1) * group] = part[g * group : (g + 1) * group]
        out[key] = merged
    return out


def refill_batch(trainer, runtime, inputs: list[dict[str, Any]], generate_and_score: Callable) -> dict[str, Any]:
    """Generate and score `inputs`, then refill its zero-variance groups (see the module docstring)."""
    group = trainer.num_generations
    ranks, rank = trainer.accelerator.num_processes, trainer.accelerator.process_index
    if len(inputs) % group:
        raise RuntimeError(
            f"dynamic_sampling: refill needs whole groups on every rank: {len(inputs)} samples per rank is not a "
            f"multiple of num_generations={group}"
        )
    local_groups = len(inputs) // group
    output = generate_and_score(inputs)
    zero = runtime.take_zero_variance().reshape(ranks, local_groups)  # gathered, identical on every rank
    need = zero.sum(axis=1)  # (ranks,) groups each rank still has to replace
    slots = list(np.flatnonzero(zero[rank]))  # my zero-variance groups, in order
    taken: list[tuple[dict[str, Any], int]] = []
    batch_prompts = {int(row[runtime.index_column]) for row in inputs}
    generated, rounds = ranks * local_groups, 0
    while need.max() > 0 and rounds < runtime.cfg.max_refill_rounds:
        per_rank = int(need.max())
        extra = runtime.extra_prompts(per_rank * ranks, exclude=sorted(batch_prompts))  # the same on every rank
        batch_prompts.update(extra)
        mine = extra[rank * per_rank : (rank + 1) * per_rank]
        rows = [runtime.train_dataset[int(i)] for i in mine for _ in range(group)]
        runtime.refilling = True
        try:
            round_out = generate_and_score(rows)
        finally:
            runtime.refilling = False
        informative = ~runtime.take_zero_variance().reshape(ranks, per_rank)
        for q in range(ranks):
            got = np.flatnonzero(informative[q])[: need[q]]
            if q == rank:
                taken += [(round_out, int(g)) for g in got]
            need[q] -= got.size
        generated += per_rank * ranks
        rounds += 1
    if taken:
        pad_id = trainer.processing_class.pad_token_id
        if pad_id is None:
            pad_id = trainer.processing_class.eos_token_id
        output = merge_groups(output, slots[: len(taken)], taken, group, pad_id)
    masked = np.zeros(local_groups, dtype=bool)
    masked[slots[len(taken) :]] = True  # what the rounds could not replace: out of the loss, as in `mask`
    output = runtime.mask_groups(trainer, output, np.repeat(masked, group))
    trained_zero = int(need.sum())
    runtime.log_refill(
        trainer,
        rounds=rounds,
        generated_groups=generated,
        trained_groups=ranks * local_groups,
        trained_zero_variance_frac=trained_zero / (ranks * local_groups),
    )
    return output
