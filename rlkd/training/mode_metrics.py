"""Per-reasoning-mode training metrics: each reward's mean and the completion length, for "on" and "off" separately.

A mixed-mode batch averages a thinking-on accuracy of 0.8 and a thinking-off accuracy of 0.2 into an unremarkable
0.5; the recipe's toggle only pays off if both modes improve, so rlkd logs `modes/on/<reward>`,
`modes/off/<reward>` (e.g. `modes/on/accuracy`, `modes/off/format`) and `modes/<mode>/completion_length` next to
TRL's own metrics, into metrics.jsonl and W&B alike.

It hooks `_calculate_rewards` (call TRL, then read the gathered reward matrix) as a mixin, so other rlkd hooks on
the same method chain through `super()` instead of competing for it. A sample's mode is its `thinking` column, else
the mode its prompt asks for; samples with neither are left out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from rewards.text import prompt_mode

MODE_NAMES = {True: "on", False: "off"}


def per_mode_means(columns: Mapping[str, Sequence[float]], modes: Sequence[bool | None]) -> dict[str, float]:
    """`modes/<on|off>/<column>` → the mean of that column over the samples of that mode.

    NaN values (a reward's None, "cannot judge") are left out of the mean; a mode or column with no valid value in
    the batch yields no key rather than a made-up number.
    """
    out: dict[str, float] = {}
    for flag, label in MODE_NAMES.items():
        for name, values in columns.items():
            picked = [v for v, m in zip(values, modes) if m is not None and bool(m) == flag and not math.isnan(v)]
            if picked:
                out[f"modes/{label}/{name}"] = sum(picked) / len(picked)
    return out


def sample_mode(row: Mapping, prompt) -> bool | None:
    """The `thinking` column when present, else the prompt's own marker, else None (unknown)."""
    given = row.get("thinking")
    return bool(given) if given is not None else prompt_mode(prompt)


class ModeMetricsMixin:
    """Mix in before GRPOTrainer: logs per-mode reward means and completion lengths on every scored batch."""

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        import torch

        rewards_per_func = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)  # (N, F)
        # Mode code per local sample: 1 on, 0 off, -1 unknown; gathered in the same rank order as the rewards.
        codes = [{True: 1.0, False: 0.0, None: -1.0}[sample_mode(row, p)] for row, p in zip(inputs, prompts)]
        local = torch.tensor(
            [[c, float(len(ids))] for c, ids in zip(codes, completion_ids_list)], device=rewards_per_func.device
        )
        gathered = self.accelerator.gather(local)  # (N, 2)
        modes = [None if c < 0 else c > 0 for c in gathered[:, 0].tolist()]
        columns = {name: rewards_per_func[:, i].tolist() for i, name in enumerate(self.reward_func_names)}
        columns["completion_length"] = gathered[:, 1].tolist()
        split = "train" if self.model.training else "eval"
        for key, value in per_mode_means(columns, modes).items():
            self._metrics[split][key].append(value)
        if split == "train":  # a column of TRL's completions table: each sample's reasoning mode
            self._log_completion_extra("mode", [MODE_NAMES.get(sample_mode(r, p)) for r, p in zip(inputs, prompts)])
        return rewards_per_func
