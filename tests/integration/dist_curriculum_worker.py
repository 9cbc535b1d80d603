"""Worker for test_curriculum_distributed.py, started once per rank by `accelerate launch --num_processes 2`.

Runs a short online-curriculum GRPO run and dumps what this rank saw: the prompts of each scored batch (its own
share and the gathered whole), the sampler's decided chunks, and the final pass-rate table.
"""

import json
import sys
from pathlib import Path

from rlkd.training.curriculum import INDEX_COLUMN, CurriculumRuntime


class Recording(CurriculumRuntime):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.local, self.gathered, self.rounds = [], [], []

    def on_rewards(self, trainer, inputs, rewards_per_func):
        import torch

        local = [row[INDEX_COLUMN] for row in inputs]
        every = trainer.accelerator.gather(torch.tensor(local)).tolist()
        self.local.append(local)
        self.gathered.append(every)
        self.rounds.append(self.refilling)
        super().on_rewards(trainer, inputs, rewards_per_func)


def main(config: str, out_dir: str, *overrides: str) -> None:
    from tests.integration.test_curriculum_training import make_trainer  # the launch puts the repo on PYTHONPATH

    trainer, runtime = make_trainer(config, overrides, runtime_cls=Recording)
    trainer.train()
    rank = trainer.accelerator.process_index
    record = {
        "rank": rank,
        "world": trainer.accelerator.num_processes,
        "local": runtime.local,
        "gathered": runtime.gathered,
        "history": runtime.sampler.state_dict()["history"],
        "table": runtime.table.state_dict(),
        "refilling": runtime.rounds,  # per scored call: was it a refill round
        "curriculum": runtime.state_dict(),
        "refill_metrics": [
            {k: v for k, v in h.items() if k.startswith("dynamic_sampling/")} for h in trainer.state.log_history
        ],
    }
    Path(out_dir, f"rank{rank}.json").write_text(json.dumps(record))


if __name__ == "__main__":
    main(*sys.argv[1:])
