"""`rlkd sft` on the tiny student: the paired teacher dataset, a few real SFTTrainer steps that lower the loss,
logit distillation through DistillSFTTrainer, and the config errors users see."""

import re
from pathlib import Path

import pytest
import yaml

from rlkd.cli import main
from rlkd.config import ConfigError, build_sft_config, load_config, sft_output_dir
from rlkd.data.traces import build_sft_dataset, teacher_problems
from rlkd.demo.teacher import respond
from rlkd.io import read_jsonl

SFT = {
    "num_problems": 48,
    "args": {
        "max_steps": 24,
        "per_device_train_batch_size": 16,
        "learning_rate": 3.0e-3,
        "logging_steps": 4,
        "save_strategy": "no",
        "disable_tqdm": True,
    },
}


def _config(tiny_config: Path, **sft) -> Path:
    raw = yaml.safe_load(tiny_config.read_text())
    raw["sft"] = {**SFT, **sft}
    raw["data"].update(thinking="mixed")
    raw["wandb"]["mode"] = "offline"
    tiny_config.write_text(yaml.safe_dump(raw))
    return tiny_config


def test_teacher_dataset_is_paired_and_held_out(tiny_config):
    cfg = load_config(_config(tiny_config))
    ds = build_sft_dataset(cfg)
    assert len(ds) == 2 * 48  # every problem once per mode (the Nemotron pairing)
    assert set(ds.column_names) == {"prompt", "completion"}  # nothing TRL's collator would trip on
    by_prompt = {}
    for row in ds:
        system, user = row["prompt"][0]["content"], row["prompt"][1]["content"]
        by_prompt.setdefault(user, {})[system] = row["completion"][0]["content"]
    on_off = [v for v in by_prompt.values() if len(v) == 2]
    assert on_off, "no prompt appears in both modes"
    for responses in on_off:
        assert responses["detailed thinking on"].startswith("<think>")
        assert responses["detailed thinking off"].startswith("\\boxed{")
    # No SFT problem is a held-out eval question, so eval after SFT measures generalisation
    from rlkd.data.datasets import load_raw_splits

    held_out = set(load_raw_splits(cfg.data)[1]["question"])
    assert not held_out & {p["question"] for p in teacher_problems(cfg)}


def test_completions_are_the_teacher_trace_for_their_mode(tiny_config):
    cfg = load_config(_config(tiny_config))
    for row in build_sft_dataset(cfg).select(range(10)):
        question = re.search(r"\d+[+\-*]\d+", row["prompt"][1]["content"]).group()
        thinking = row["prompt"][0]["content"] == "detailed thinking on"
        assert row["completion"][0]["content"] == respond(question, thinking)


def test_a_few_sft_steps_lower_the_loss(tiny_config):
    cfg = _config(tiny_config)
    assert main(["sft", str(cfg)]) == 0
    out = sft_output_dir(load_config(cfg))
    losses = [r["loss"] for r in read_jsonl(out / "metrics.jsonl") if "loss" in r]
    assert len(losses) == 6
    assert losses[-1] < 0.8 * losses[0], losses  # random init → teacher traces: the loss must fall clearly
    from transformers import AutoModelForCausalLM, AutoTokenizer

    AutoModelForCausalLM.from_pretrained(out)  # a from_pretrained directory the next stage can load
    assert AutoTokenizer.from_pretrained(out).chat_template
    assert list((out / "wandb").glob("offline-run-*")), "the SFT run is tracked in W&B (offline here)"


def test_logit_distillation_runs_and_logs_both_terms(tiny_config, tmp_path):
    from rlkd.demo.tiny import save_tiny_model

    teacher = save_tiny_model(tmp_path / "teacher", seed=1)  # same tokenizer, different weights: KL > 0
    cfg = _config(tiny_config, teacher=str(teacher), alpha=0.5, temperature=2.0)
    assert main(["sft", str(cfg), "sft.args.max_steps=8"]) == 0
    logs = [r for r in read_jsonl(sft_output_dir(load_config(cfg)) / "metrics.jsonl") if "loss" in r]
    assert logs and all(r["distill/kl"] > 0 and r["distill/ce"] > 0 for r in logs)


@pytest.mark.parametrize(
    "override, match",
    [
        ("sft.args.learning_rat=1", "did you mean 'learning_rate'"),  # a typo in TRL's field names
        ("sft.args.report_to=none", "set by rlkd from wandb.mode"),  # owned by the wandb section
        ("sft.args.max_steps=abc", "sft.args.max_steps must be an integer"),  # type-checked before TRL sees it
        ("sft.alpha=1.5", "sft.alpha must be in"),  # the CE weight is a fraction
        ("sft.epochs=3", "unknown key 'sft.epochs'"),  # the sft section itself is strict
    ],
)
def test_bad_sft_settings_are_one_line_config_errors(tiny_config, override, match):
    with pytest.raises(ConfigError, match=match):
        build_sft_config(load_config(_config(tiny_config), [override]))


def test_teacher_with_another_vocabulary_is_refused(tiny_config, tmp_path, capsys):
    from transformers import AutoTokenizer

    from rlkd.demo.tiny import save_tiny_model

    teacher = save_tiny_model(tmp_path / "teacher")
    tok = AutoTokenizer.from_pretrained(teacher)
    tok.add_tokens(["<extra>"])
    tok.save_pretrained(teacher)
    assert main(["sft", str(_config(tiny_config, teacher=str(teacher)))]) == 2
    assert "different tokenizer" in capsys.readouterr().err
