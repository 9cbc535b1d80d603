"""Dynamic sampling that refills (`curriculum.dynamic_sampling: refill`) in real tiny GRPO runs: a batch with k
zero-variance groups gets k informative replacements, the trained batch holds none while rounds permit, the metrics
are logged, and the loss really trains on the replacements."""

import numpy as np

from rlkd.io import read_jsonl
from rlkd.training.curriculum import INDEX_COLUMN, CurriculumRuntime
from tests.integration.test_curriculum_training import make_trainer

REWARD = f"{__name__}:thirds"
REFILL_KEYS = {
    "dynamic_sampling/rounds",
    "dynamic_sampling/generated_groups",
    "dynamic_sampling/trained_groups",
    "dynamic_sampling/trained_zero_variance_frac",
}


def thirds(completions, curriculum_index, **kwargs):
    """Every third prompt is settled (all answers right: zero variance); the others alternate 0, 1 within their
    group (groups are consecutive samples, num_generations of them, an even number here), so they vary."""
    return [1.0 if i % 3 == 0 else float(j % 2) for j, i in enumerate(curriculum_index)]


class Recording(CurriculumRuntime):
    """Remembers each scored call: whether it was a refill round, and its prompts in group order."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls = []

    def on_rewards(self, trainer, inputs, rewards_per_func):
        self.calls.append((self.refilling, [row[INDEX_COLUMN] for row in inputs][:: trainer.num_generations]))
        super().on_rewards(trainer, inputs, rewards_per_func)


def _overrides(*extra):
    return [
        "curriculum.dynamic_sampling=refill",
        f"curriculum.reward={REWARD}",
        f"rewards=[{{name: accuracy}}, {{name: format, weight: 0.5}}, {{name: '{REWARD}', weight: 1.0}}]",
        "grpo.max_steps=4",
        "grpo.per_device_train_batch_size=12",  # 3 groups of 4 a step
        *extra,
    ]


def test_each_zero_variance_group_gets_an_informative_replacement(tiny_config):
    trainer, runtime = make_trainer(tiny_config, _overrides(), Recording)
    trainer.train()
    steps, step = [], None
    for refilling, prompts in runtime.calls:
        if not refilling:
            step = {"first": prompts, "extra": []}
            steps.append(step)
        else:
            step["extra"] += prompts
    assert len(steps) == 4
    for s in steps:
        k = sum(i % 3 == 0 for i in s["first"])  # zero-variance groups of the first round
        informative = [i for i in s["extra"] if i % 3 != 0]
        assert len(informative) >= k  # the rounds found k replacements (4 rounds of refill: plenty here)
        assert not set(s["extra"]) & set(s["first"])  # extra prompts are other prompts than the batch's
    logs = [h for h in trainer.state.log_history if "dynamic_sampling/rounds" in h]
    assert len(logs) == 4 and all(h["dynamic_sampling/trained_zero_variance_frac"] == 0.0 for h in logs)
    assert all(h["dynamic_sampling/trained_groups"] == 3 for h in logs)
    # generated = the 3 of the batch + every extra group, rounds >= 1 exactly when something needed replacing
    for h, s in zip(logs, steps):
        assert h["dynamic_sampling/generated_groups"] == 3 + len(s["extra"])
        assert (h["dynamic_sampling/rounds"] > 0) == any(i % 3 == 0 for i in s["first"])


def sevenths(completions, curriculum_index, **kwargs):
    """Mostly settled: only every seventh prompt's group varies (0, 1, 0, 1)."""
    return [float(j % 2) if i % 7 == 0 else 1.0 for j, i in enumerate(curriculum_index)]


def test_refill_trains_where_mask_cannot(tiny_config):
    # A batch of 3 groups rarely holds an informative prompt: masking then leaves nothing to learn from (grad 0),
    # refilling replaces the settled groups with informative ones and every step's loss moves the policy (the random
    # student's accuracy and format are all 0, so the signal is the reward's alone)
    reward = f"{__name__}:sevenths"
    grads, informative_first = {}, []
    for mode in ("mask", "refill"):
        overrides = _overrides(
            f"curriculum.dynamic_sampling={mode}",
            "curriculum.name=online",  # both arms draw from a curriculum (prompt indices for the reward)
            f"curriculum.reward={reward}",
            f"rewards=[{{name: '{reward}', weight: 1.0}}]",
            "curriculum.max_refill_rounds=8",
        )
        trainer, runtime = make_trainer(tiny_config, overrides, Recording)
        trainer.train()
        grads[mode] = [h["grad_norm"] for h in trainer.state.log_history if "grad_norm" in h]
        if mode == "mask":
            informative_first = [any(i % 7 == 0 for i in p) for refilling, p in runtime.calls if not refilling]
    assert all(g > 0.0 for g in grads["refill"])
    assert [g > 0.0 for g in grads["mask"]] == informative_first  # masking learns only where the batch had signal
    assert not all(informative_first)  # (and some batches had none: the case refill is for)


def test_refill_run_logs_its_metrics_to_metrics_jsonl(tiny_config, tmp_path):
    from rlkd.cli import main

    assert main(["train", str(tiny_config), "wandb.mode=disabled", *_overrides()]) == 0
    records = [r for r in read_jsonl(tmp_path / "run" / "metrics.jsonl") if "loss" in r]
    assert len(records) == 4
    for r in records:
        assert REFILL_KEYS <= set(r), sorted(REFILL_KEYS - set(r))
        assert r["dynamic_sampling/generated_groups"] >= r["dynamic_sampling/trained_groups"] == 3


def test_mask_still_masks_when_refill_is_off(tiny_config):
    trainer, _ = make_trainer(tiny_config, _overrides("curriculum.dynamic_sampling=mask"))
    trainer.train()
    masked = [h["curriculum/frac_masked"] for h in trainer.state.log_history if "curriculum/frac_masked" in h]
    assert masked and all(np.isclose(m * 3, round(m * 3)) for m in masked)  # whole groups of the 3 masked
    assert not any("dynamic_sampling/rounds" in h for h in trainer.state.log_history)
