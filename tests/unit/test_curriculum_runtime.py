"""CurriculumRuntime without a training loop: config checks, the pass-rate join and filter, and what the reward
and scoring hooks do to a crafted batch (a real single-process Accelerator does the gathering)."""

import json
from collections import defaultdict
from types import SimpleNamespace

import datasets
import numpy as np
import pytest
import torch
from accelerate import Accelerator

from rlkd.config import ConfigError, parse_config
from rlkd.data.passrates import prompt_key
from rlkd.training.curriculum import INDEX_COLUMN, CurriculumRuntime

BASE = {
    "model": {"name_or_path": "unused"},
    "data": {"generator": "arithmetic"},
    "rewards": [{"name": "accuracy"}, {"name": "format"}],
    "wandb": {"mode": "disabled"},
    "grpo": {"output_dir": "unused"},
}


def _cfg(**curriculum):
    return parse_config({**BASE, "curriculum": curriculum})


def _dataset(n=6):
    rows = [{"prompt": [{"role": "user", "content": f"q{i}"}], "solution": str(i)} for i in range(n)]
    return datasets.Dataset.from_list(rows)


def _pass_rate_file(tmp_path, ds, rates):
    path = tmp_path / "pr.jsonl"
    lines = [
        json.dumps({"prompt_key": prompt_key(p, s), "pass_rate": r})
        for p, s, r in zip(ds["prompt"], ds["solution"], rates)
        if r != "skip"
    ]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.mark.parametrize(
    "curriculum, message",
    [
        ({"name": "gaussian"}, "needs curriculum.pass_rates"),  # the paper's curriculum needs offline estimates
        ({"name": "ordered"}, "must be one of"),  # unknown curriculum
        ({"max_pass_rate": 1.5}, r"max_pass_rate must be a pass rate in \[0, 1\]"),
        ({"min_pass_rate": 0.8}, "must be below max_pass_rate"),  # would drop everything
        ({"sigma": 0}, "sigma must be > 0"),
        ({"ema": 0}, r"ema must be in \(0, 1\]"),
        ({"temperature": 1}, "unknown key 'curriculum.temperature'"),  # strict config lists valid keys
    ],
)
def test_config_errors_are_one_line(curriculum, message):
    with pytest.raises(ConfigError, match=message):
        _cfg(**curriculum)


def test_join_filter_and_index_column(tmp_path):
    ds = _dataset()
    path = _pass_rate_file(tmp_path, ds, [0.0, 0.25, 0.75, 0.5, 1.0, 0.125])
    runtime = CurriculumRuntime.from_config(_cfg(name="gaussian", pass_rates=path, min_pass_rate=0.0), ds)
    # kept: 0.25, 0.5, 0.125 (0.0 is <= min, 0.75 and 1.0 are >= max); rows are renumbered for the sampler
    assert runtime.pass_rates.tolist() == [0.25, 0.5, 0.125]
    assert runtime.train_dataset["solution"] == ["1", "3", "5"]
    assert runtime.train_dataset[INDEX_COLUMN] == [0, 1, 2]


@pytest.mark.parametrize(
    "curriculum, rates, message",
    [
        # a file for half the prompts: gaussian cannot place the others, and says how to fix it
        ({"name": "gaussian"}, [0.1, 0.2, 0.3, "skip", "skip", "skip"], "3 of 6 train prompts have no pass rate"),
        ({"name": "gaussian", "max_pass_rate": 0.1}, [0.5] * 6, "kept no prompts"),
    ],
)
def test_join_errors(tmp_path, curriculum, rates, message):
    ds = _dataset()
    with pytest.raises(ConfigError, match=message):
        CurriculumRuntime.from_config(_cfg(pass_rates=_pass_rate_file(tmp_path, ds, rates), **curriculum), ds)


def test_online_keeps_prompts_without_an_estimate(tmp_path):
    ds = _dataset()
    path = _pass_rate_file(tmp_path, ds, [0.1, 0.2, 0.3, "skip", "skip", 0.9])
    runtime = CurriculumRuntime.from_config(_cfg(name="online", pass_rates=path), ds)
    assert len(runtime.train_dataset) == 5 and np.isnan(runtime.pass_rates).sum() == 2  # 0.9 dropped


def test_online_needs_the_accuracy_reward():
    cfg = parse_config({**BASE, "rewards": [{"name": "format"}], "curriculum": {"name": "online"}})
    with pytest.raises(ConfigError, match="curriculum.reward 'accuracy' is not one of the run's rewards"):
        CurriculumRuntime.from_config(cfg, _dataset())


def _fake_trainer(num_generations=4):
    return SimpleNamespace(
        num_generations=num_generations,
        accelerator=Accelerator(cpu=True),
        _metrics={"train": defaultdict(list)},
    )


def test_reward_and_scoring_hooks_mask_zero_variance_groups():
    runtime = CurriculumRuntime.from_config(_cfg(name="uniform", dynamic_sampling=True), _dataset())
    trainer = _fake_trainer()
    # 3 groups of 4: accuracy all 1 (masked), mixed (kept), all 0 (masked); format column anything
    accuracy = [1, 1, 1, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    rewards = torch.tensor([[a, 0.5] for a in accuracy], dtype=torch.float32)
    runtime.on_rewards(trainer, [{} for _ in accuracy], rewards)
    output = {
        "advantages": torch.ones(12),
        "completion_mask": torch.ones(12, 5, dtype=torch.int64),
        "num_items_in_batch": torch.tensor(60),
    }
    out = runtime.after_scoring(trainer, output)
    keep = torch.tensor([0] * 4 + [1] * 4 + [0] * 4)
    assert out["advantages"].tolist() == keep.float().tolist()  # masked groups: zero advantage
    assert out["completion_mask"].sum(1).tolist() == (keep * 5).tolist()  # and no tokens in the loss
    assert out["num_items_in_batch"].item() == 20  # the DAPO normaliser counts only the kept group's tokens
    m = trainer._metrics["train"]
    assert m["curriculum/frac_zero_variance_groups"] == [pytest.approx(2 / 3)]
    assert m["curriculum/frac_masked"] == [pytest.approx(2 / 3)]
    assert m["curriculum/batch_pass_rate_mean"] == [pytest.approx((1 + 0.5 + 0) / 3)]


def test_without_dynamic_sampling_nothing_is_masked_but_metrics_are_kept():
    runtime = CurriculumRuntime.from_config(_cfg(name="uniform"), _dataset())
    trainer = _fake_trainer(num_generations=2)
    rewards = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 0.0], [1.0, 0.0]])
    runtime.on_rewards(trainer, [{}] * 4, rewards)
    output = {"advantages": torch.ones(4), "completion_mask": torch.ones(4, 3), "num_items_in_batch": torch.tensor(12)}
    assert runtime.after_scoring(trainer, output) is output and output["advantages"].tolist() == [1.0] * 4
    m = trainer._metrics["train"]
    assert m["curriculum/frac_zero_variance_groups"] == [0.5] and m["curriculum/frac_masked"] == [0.0]
