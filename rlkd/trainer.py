"""RLKDTrainer: TRL's GRPOTrainer with rlkd's small hooks, and nothing copied from TRL.

TRL's trainer is ~3,400 lines and its `_generate_and_score_completions` ~600; copying either would drift from TRL
with every release. rlkd overrides only small hooks (the train sampler for curricula, the reward calculation for
online pass rates, the vLLM weight sync on CPU, checkpointing of rlkd's own state), each with a CPU test, and TRL is
pinned to one minor version so an upgrade that moves a hook fails those tests loudly.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Protocol

from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR
from trl import GRPOTrainer

from rlkd.io import atomic_write_json
from rlkd.resume import RLKD_STATE


class Stateful(Protocol):
    def state_dict(self) -> dict[str, Any]: ...
    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class RLKDTrainer(GRPOTrainer):
    """GRPOTrainer as configured by rlkd.

    Reward names are resolved to callables before they reach TRL (TRL would load a string as a Hub reward model).
    `stateful` holds rlkd components (curriculum, pass-rate table, ...) whose state goes into every checkpoint.
    """

    def __init__(self, *args, stateful: dict[str, Stateful] | None = None, **kwargs):
        reward_funcs = kwargs.get("reward_funcs")
        if reward_funcs is not None:
            funcs = reward_funcs if isinstance(reward_funcs, list) else [reward_funcs]
            if any(isinstance(f, str) for f in funcs):
                raise TypeError("RLKDTrainer takes reward callables; resolve names with rewards.get_reward(name)")
        self.stateful: dict[str, Stateful] = dict(stateful or {})
        super().__init__(*args, **kwargs)

    def _save_checkpoint(self, model, trial):
        # rlkd's state is written (atomically) before TRL's files: transformers writes trainer_state.json last, and
        # a checkpoint counts as complete only when that file exists, so a complete checkpoint always has both.
        if self.args.should_save:
            ckpt = Path(self._get_output_dir(trial=trial)) / f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}"
            state = {"global_step": self.state.global_step, **{k: v.state_dict() for k, v in self.stateful.items()}}
            atomic_write_json(ckpt / RLKD_STATE, state)
        super()._save_checkpoint(model, trial)

    def load_rlkd_state(self, checkpoint: str | os.PathLike) -> None:
        """Restore rlkd components from a checkpoint (model/optimizer/RNG are restored by transformers)."""
        path = Path(checkpoint) / RLKD_STATE
        if not path.exists():
            return
        state = json.loads(path.read_text())
        for key, component in self.stateful.items():
            if key in state:
                component.load_state_dict(state[key])
