"""`rlkd` on one rank of a multi-process launch, exactly as `-m rlkd.cli` runs it, plus one observation for the tests:
when training ends, each rank writes its own curriculum state to $RANK_STATE_DIR/rank<N>.json.

Only the main process writes checkpoints, so rlkd_state.json shows rank 0's state alone; whether every rank holds
the same curriculum (after a resume, too) can only be seen from inside each process."""

import json
import os
import sys
from pathlib import Path

from rlkd.cli import main
from rlkd.training.trainer import RLKDTrainer

_train = RLKDTrainer.train


def _train_and_dump(self, *args, **kwargs):
    result = _train(self, *args, **kwargs)
    state = self.curriculum.state_dict() if self.curriculum is not None else None
    out = Path(os.environ["RANK_STATE_DIR"], f"rank{self.accelerator.process_index}.json")
    out.write_text(json.dumps({"step": self.state.global_step, "curriculum": state}, sort_keys=True))
    return result


if __name__ == "__main__":
    RLKDTrainer.train = _train_and_dump
    sys.exit(main(sys.argv[1:]))
