"""rlkd.training.refill without a training loop: merging replacement groups into TRL's output (re-padding both
sides), and the lockstep rounds of two ranks simulated side by side (each rank replaces its own zero-variance
groups; both make the same rounds with the same number of extra prompts, decided from gathered flags only)."""

from collections import defaultdict
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from rlkd.config import ConfigError, parse_config
from rlkd.training.curriculum import CurriculumRuntime
from rlkd.training.refill import merge_groups, refill_batch

PAD = 0


def _output(prompt_lens, completion_lens, advantages, group=2):
    """TRL's output for samples with these prompt/completion lengths (left/right padded), token ids = sample id."""
    n, lp, lc = len(prompt_lens), max(prompt_lens), max(completion_lens)
    prompt_ids = torch.zeros(n, lp, dtype=torch.long)
    prompt_mask = torch.zeros(n, lp, dtype=torch.long)
    completion_ids = torch.zeros(n, lc, dtype=torch.long)
    completion_mask = torch.zeros(n, lc, dtype=torch.long)
    for i, (p, c) in enumerate(zip(prompt_lens, completion_lens)):
        prompt_ids[i, lp - p :], prompt_mask[i, lp - p :] = 100 + i, 1
        completion_ids[i, :c], completion_mask[i, :c] = 200 + i, 1
    return {
        "prompt_ids": prompt_ids,
        "prompt_mask": prompt_mask,
        "completion_ids": completion_ids,
        "completion_mask": completion_mask,
        "old_per_token_logps": completion_mask.float() * -1.0,
        "advantages": torch.tensor(advantages, dtype=torch.float32),
        "num_items_in_batch": completion_mask.sum(),
    }


def test_merge_replaces_whole_groups_and_repads_both_sides():
    base = _output([2, 2, 3, 3], [1, 2, 2, 1], [0.0, 0.0, 1.0, -1.0])  # group 0 is zero-variance
    donor = _output([4, 4, 1, 1], [3, 3, 1, 1], [0.5, -0.5, 0.0, 0.0])  # its group 0 is informative
    out = merge_groups(base, slots=[0], donors=[(donor, 0)], group=2, pad_id=PAD)
    assert out["prompt_ids"].shape == (4, 4) and out["completion_ids"].shape == (4, 3)  # the longest of either
    assert out["prompt_ids"][0].tolist() == [100, 100, 100, 100]  # donor's sample 0, prompt of 4
    assert out["prompt_ids"][2].tolist() == [PAD, 102, 102, 102]  # kept sample: left-padded one more
    assert out["prompt_mask"][2].tolist() == [0, 1, 1, 1]
    assert out["completion_ids"][1].tolist() == [201, 201, 201]  # donor's sample 1
    assert out["completion_ids"][3].tolist() == [203, PAD, PAD] and out["completion_mask"][3].tolist() == [1, 0, 0]
    assert out["old_per_token_logps"][3].tolist() == [-1.0, 0.0, 0.0]
    assert out["advantages"].tolist() == [0.5, -0.5, 1.0, -1.0]


def test_merge_refuses_outputs_it_cannot_merge():
    base = {**_output([1, 1], [1, 1], [0.0, 0.0]), "pixel_values": torch.zeros(2, 3)}
    with pytest.raises(RuntimeError, match="pixel_values"):
        merge_groups(base, [0], [(base, 0)], group=2, pad_id=PAD)


class _Rank:
    """One rank's trainer + runtime for refill_batch, in a simulated world of `ranks` processes. A prompt is settled
    (zero variance) when `settled(prompt)`; extra prompts come in a fixed order, the same on every rank."""

    def __init__(self, rank, ranks, settled, group=2, rounds=3):
        self.trainer = SimpleNamespace(
            num_generations=group,
            accelerator=SimpleNamespace(num_processes=ranks, process_index=rank, gather=lambda t: t * ranks),
            processing_class=SimpleNamespace(pad_token_id=PAD, eos_token_id=1),
        )
        self.ranks, self.settled, self.group = ranks, settled, group
        self.cfg = SimpleNamespace(max_refill_rounds=rounds)
        self.index_column = "i"
        self.train_dataset = {i: {"i": i} for i in range(1000)}
        self.refilling = False
        self.next_extra = 500
        self.requests, self.calls, self.metrics = [], 0, {}
        self._flags = None

    # the runtime protocol refill_batch uses
    def take_zero_variance(self):
        return self._flags

    def extra_prompts(self, n, exclude):
        self.requests.append(n)
        out = list(range(self.next_extra, self.next_extra + n))
        self.next_extra += n
        return out

    def mask_groups(self, trainer, output, drop):
        output["masked"] = drop.tolist()
        return output

    def log_refill(self, trainer, **metrics):
        self.metrics = metrics

    def generate_and_score(self, world):
        """TRL's call on this rank's rows; `world(rows)` gives every rank's rows of the same call (gathered)."""

        def call(rows):
            self.calls += 1
            everyone = world(self, rows)
            prompts = [r["i"] for rows_q in everyone for r in rows_q[:: self.group]]
            self._flags = np.array([self.settled(p) for p in prompts])
            mine = [r["i"] for r in rows]
            out = _output([1] * len(rows), [1] * len(rows), [0.0] * len(rows), self.group)
            out["prompt_ids"][:, 0] = torch.tensor(mine)
            return out

        return call


def _run_world(batches, settled, rounds=3):
    """Run refill_batch on every rank; each rank's view of a call's gathered rows is what all ranks passed."""
    ranks = [_Rank(r, len(batches), settled, rounds=rounds) for r in range(len(batches))]

    # ranks run one after another here; the gathered rows of round k are what every rank passed in its round k,
    # which is deterministic (the same extra prompts on every rank), so each rank can rebuild them
    def world(rank, rows):
        k = rank.calls - 1
        if k == 0:
            return [[{"i": i} for i in b for _ in range(rank.group)] for b in batches]
        per_rank = rank.requests[k - 1] // rank.ranks
        start = sum(rank.requests[: k - 1]) + 500
        return [
            [{"i": start + q * per_rank + j} for j in range(per_rank) for _ in range(rank.group)]
            for q in range(rank.ranks)
        ]

    outs = []
    for rank, batch in zip(ranks, batches):
        rows = [{"i": i} for i in batch for _ in range(rank.group)]
        outs.append(refill_batch(rank.trainer, rank, rows, rank.generate_and_score(world)))
    return ranks, outs


def test_two_ranks_refill_in_lockstep_and_each_replaces_its_own_groups():
    # rank 0 holds prompts 0, 1, 2 (1 and 2 settled), rank 1 holds 3, 4, 5 (none settled); extras from 500 on,
    # the odd ones settled
    settled = lambda p: p in (1, 2) or (p >= 500 and p % 2 == 1)  # noqa: E731
    ranks, outs = _run_world([[0, 1, 2], [3, 4, 5]], settled)
    assert ranks[0].requests == ranks[1].requests  # the same rounds, the same number of extras each round
    assert ranks[0].calls == ranks[1].calls  # so every collective call lines up
    # round 1: rank 0 needs 2, so each rank generates 2 (500, 501 for rank 0; 502, 503 for rank 1, unused): 500
    # replaces group 1, 501 is settled; round 2: 1 each (504 for rank 0, informative: replaces group 2)
    assert ranks[0].requests == [4, 2]
    assert outs[0]["prompt_ids"][:, 0].tolist() == [0, 0, 500, 500, 504, 504]  # prompt 0 kept, in order
    assert outs[1]["prompt_ids"][:, 0].tolist() == [3, 3, 4, 4, 5, 5]  # rank 1 needed nothing: its batch is intact
    assert outs[0]["masked"] == [False] * 6
    assert (
        ranks[0].metrics
        == ranks[1].metrics
        == {
            "rounds": 2,
            "generated_groups": 12,  # 6 of the batch + 4 + 2 extra
            "trained_groups": 6,
            "trained_zero_variance_frac": 0.0,
        }
    )


def test_groups_left_when_rounds_run_out_are_masked():
    settled = lambda p: p in (1, 2) or p >= 500  # noqa: E731  (no extra prompt is ever informative)
    ranks, outs = _run_world([[0, 1, 2], [3, 4, 5]], settled, rounds=2)
    assert ranks[0].requests == [4, 4]  # two rounds, then it stops
    assert outs[0]["masked"] == [False, False, True, True, True, True]  # groups 1 and 2 out of the loss
    assert outs[1]["masked"] == [False] * 6
    assert ranks[1].metrics["trained_zero_variance_frac"] == pytest.approx(2 / 6)


def test_refill_needs_whole_groups_on_each_rank():
    raw = {
        "model": {"name_or_path": "unused"},
        "data": {"generator": "arithmetic"},
        "rewards": [{"name": "accuracy"}],
        "curriculum": {"dynamic_sampling": "refill"},
        "wandb": {"mode": "disabled"},
        "grpo": {"output_dir": "unused"},
    }
    import datasets

    rows = [{"prompt": [{"role": "user", "content": f"q{i}"}], "solution": str(i)} for i in range(8)]
    runtime = CurriculumRuntime.from_config(parse_config(raw), datasets.Dataset.from_list(rows))
    # two ranks of 2 samples with groups of 4: a group would straddle the ranks
    args = SimpleNamespace(
        generation_batch_size=4,
        per_device_train_batch_size=2,
        steps_per_generation=1,
        max_steps=2,
        gradient_accumulation_steps=1,
        seed=0,
        num_train_epochs=1,
    )
    trainer = SimpleNamespace(args=args, num_generations=4, num_iterations=1, _metrics={"train": defaultdict(list)})
    with pytest.raises(ConfigError, match="multiple of grpo.num_generations"):
        runtime.build_sampler(trainer)
