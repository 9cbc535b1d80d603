"""Curricula in real (tiny, CPU) GRPO runs: each RLKDTrainer hook, the metrics in metrics.jsonl, dynamic sampling's
effect on the loss, and checkpoint/resume continuing the curriculum exactly."""

import json

import pytest
from trl.trainer.utils import RepeatSampler

from rlkd.cli import main
from rlkd.config import load_config
from rlkd.io import read_jsonl
from rlkd.training.curriculum import INDEX_COLUMN, CurriculumRuntime
from rlkd.training.sampler import CurriculumSampler

CURRICULUM_KEYS = {
    "curriculum/target_mean",
    "curriculum/batch_pass_rate_mean",
    "curriculum/batch_estimate_mean",
    "curriculum/frac_zero_variance_groups",
    "curriculum/frac_masked",
    "curriculum/table_pass_rate_mean",
}


class Recording(CurriculumRuntime):
    """Remembers which prompts each scored batch held (what the sampler handed TRL)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.batches = []

    def on_rewards(self, trainer, inputs, rewards_per_func):
        self.batches.append(sorted({row[INDEX_COLUMN] for row in inputs}))
        super().on_rewards(trainer, inputs, rewards_per_func)


def make_trainer(config, overrides=(), runtime_cls=CurriculumRuntime):
    from rlkd.training.builder import build_trainer, prepare_run
    from rlkd.training.tracking import MetricsJSONLCallback

    cfg = load_config(config, ["wandb.mode=disabled", *overrides])
    inputs = prepare_run(cfg, curriculum_cls=runtime_cls)
    return build_trainer(inputs, callbacks=[MetricsJSONLCallback(cfg.output_dir)]), inputs.curriculum


@pytest.mark.parametrize(
    "overrides, expected",
    [
        ([], RepeatSampler),  # uniform without pass rates: TRL's own sampler, untouched (the vanilla baseline)
        (["curriculum.name=online"], CurriculumSampler),  # any curriculum: rlkd's sampler in TRL's contract
    ],
)
def test_train_sampler_hook(tiny_config, overrides, expected):
    trainer, _ = make_trainer(tiny_config, overrides)
    sampler = trainer._get_train_sampler()
    assert type(sampler) is expected
    trl = RepeatSampler(trainer.train_dataset, trainer.num_generations, 2, trainer.args.steps_per_generation)
    assert len(sampler) == len(trl)  # the Trainer's epoch/step arithmetic sees the same length either way


def test_online_run_logs_curriculum_metrics_saves_state_and_plots(tiny_config, tmp_path):
    run = tmp_path / "run"
    assert main(["train", str(tiny_config), "curriculum.name=online", "wandb.mode=disabled"]) == 0
    records = [r for r in read_jsonl(run / "metrics.jsonl") if "loss" in r]
    assert len(records) == 3
    for r in records:
        assert CURRICULUM_KEYS <= set(r), sorted(CURRICULUM_KEYS - set(r))  # every step, in metrics.jsonl
        assert 0.0 <= r["curriculum/frac_zero_variance_groups"] <= 1.0 and r["curriculum/frac_masked"] == 0.0
    state = json.loads((run / "checkpoint-2" / "rlkd_state.json").read_text())["curriculum"]
    assert state["name"] == "online" and sum(state["table"]["observations"]) > 0  # the table saw two batches
    assert state["sampler"]["curriculum"]["position"] >= 2
    assert main(["plot-curriculum", str(run)]) == 0
    assert (run / "curriculum.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_dynamic_sampling_takes_masked_groups_out_of_the_loss(tiny_config):
    # The random tiny student never answers right: every group's accuracy is all 0, while the format reward still
    # varies. Without dynamic sampling the format advantage moves the policy; with it, nothing may.
    grad = {}
    for dynamic in (False, True):
        flag = f"curriculum.dynamic_sampling={str(dynamic).lower()}"
        trainer, _ = make_trainer(tiny_config, [flag, "grpo.max_steps=2"])
        trainer.train()
        logs = [h for h in trainer.state.log_history if "grad_norm" in h]
        assert all(h["curriculum/frac_masked"] == (1.0 if dynamic else 0.0) for h in logs)
        grad[dynamic] = [h["grad_norm"] for h in logs]
    assert max(grad[False]) > 0.0  # the vanilla loss had signal from the format reward ...
    assert grad[True] == [0.0] * len(grad[True])  # ... and masking removed every token from the loss


def test_resume_continues_the_curriculum_exactly(tiny_config, tmp_path):
    common = ["curriculum.name=online", "grpo.max_steps=4", "grpo.save_steps=2", "grpo.per_device_train_batch_size=4"]
    first, runtime_a = make_trainer(tiny_config, common, Recording)
    first.train()
    assert len(runtime_a.batches) == 4
    resumed_dir = tmp_path / "resumed"
    second, runtime_b = make_trainer(tiny_config, [*common, f"grpo.output_dir={resumed_dir}"], Recording)
    second.train(resume_from_checkpoint=str(tmp_path / "run" / "checkpoint-2"))
    # Steps 3 and 4 train on the same prompts as the uninterrupted run: the chunk prefetched before the
    # checkpoint is replayed, the next one is decided from the restored table, RNG and position.
    assert runtime_b.batches == runtime_a.batches[2:]
    # The table came back from checkpoint-2 (batches 1-2) and saw batches 3-4 again, as in the first run.
    assert runtime_b.table.rates().tolist() == runtime_a.table.rates().tolist()
