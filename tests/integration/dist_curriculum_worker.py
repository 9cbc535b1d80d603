"""Worker for test_curriculum_distributed.py, started once per rank by `accelerate launch --num_processes 2`.

Runs a short online-curriculum GRPO run and dumps what this rank saw: the prompts of each scored batch (its own
share and the gathered whole), the sampler's decided chunks, and the final pass-rate table.
"""

import json
import sys
from pathlib import Path

from rlkd.config import build_grpo_config, load_config
from rlkd.curriculum import INDEX_COLUMN, CurriculumRuntime


class Recording(CurriculumRuntime):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.local, self.gathered = [], []

    def on_rewards(self, trainer, inputs, rewards_per_func):
        import torch

        local = [row[INDEX_COLUMN] for row in inputs]
        every = trainer.accelerator.gather(torch.tensor(local)).tolist()
        self.local.append(local)
        self.gathered.append(every)
        super().on_rewards(trainer, inputs, rewards_per_func)


def main(config: str, out_dir: str, *overrides: str) -> None:
    from rlkd.data import load_splits
    from rlkd.model import load_policy
    from rlkd.train import resolve_rewards
    from rlkd.trainer import RLKDTrainer

    cfg = load_config(config, list(overrides))
    args = build_grpo_config(cfg)
    model, tokenizer = load_policy(cfg.model)
    train_ds, _ = load_splits(cfg.data)
    runtime = Recording.from_config(cfg, train_ds)
    trainer = RLKDTrainer(
        model=model,
        reward_funcs=resolve_rewards(cfg),
        args=args,
        train_dataset=runtime.train_dataset,
        processing_class=tokenizer,
        curriculum=runtime,
    )
    trainer.train()
    rank = trainer.accelerator.process_index
    record = {
        "rank": rank,
        "world": trainer.accelerator.num_processes,
        "local": runtime.local,
        "gathered": runtime.gathered,
        "history": runtime.sampler.state_dict()["history"],
        "table": runtime.table.state_dict(),
    }
    Path(out_dir, f"rank{rank}.json").write_text(json.dumps(record))


if __name__ == "__main__":
    main(*sys.argv[1:])
