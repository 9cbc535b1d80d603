"""`rlkd sft CONFIG`: the SFT / distillation stage before RL, on TRL's SFTTrainer.

The student learns the teacher's responses as prompt/completion chat pairs, so the loss falls on the completion
only (TRL's completion_only_loss) and the prompts are the very chat prompts GRPO will sample from (same system mode
line, same template). With the arithmetic generator the traces come from rlkd.teacher, paired as in the
Llama-Nemotron recipe: every problem once with "detailed thinking on" and its step-by-step trace and once with
"detailed thinking off" and the bare answer. Otherwise they come from the dataset's `sft.completion_column`.

SFT problems are drawn from the generator's distribution with a seed of their own, skipping every held-out eval
question, so `rlkd eval` after SFT measures generalisation, not recall.

`sft.args` goes to trl.SFTConfig, type-checked against its annotations first (as `grpo:` is against GRPOConfig's);
W&B settings come from the `wandb:` section. With `sft.teacher` set, DistillSFTTrainer adds logit distillation.
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
from pathlib import Path
from typing import Any

from rlkd.config import ConfigError, RunConfig, _coerce
from rlkd.io import atomic_write_text

logger = logging.getLogger(__name__)

# trl.SFTConfig fields that rlkd sets from its own sections.
OWNED_SFT_KEYS = {"report_to": "wandb.mode", "run_name": "wandb.name"}
SFT_SEED_OFFSET = 1_000  # SFT problems use their own random stream, apart from the GRPO train split's


def sft_output_dir(cfg: RunConfig) -> Path:
    return Path(cfg.sft.args.get("output_dir") or f"{cfg.grpo['output_dir']}-sft")


def sft_kwargs(cfg: RunConfig) -> dict[str, Any]:
    """Keyword arguments for trl.SFTConfig: `sft.args` checked against SFTConfig's fields, plus rlkd's settings."""
    from trl import SFTConfig as TRLSFTConfig

    types_ = {f.name: f.type for f in dataclasses.fields(TRLSFTConfig) if f.init}
    kwargs = {}
    for key, value in cfg.sft.args.items():
        if key in OWNED_SFT_KEYS:
            raise ConfigError(f"sft.args.{key} is set by rlkd from {OWNED_SFT_KEYS[key]}: set that instead")
        if key not in types_:
            close = difflib.get_close_matches(key, list(types_), n=3)
            hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
            raise ConfigError(f"unknown key 'sft.args.{key}': {hint}sft.args takes the fields of trl.SFTConfig")
        kwargs[key] = value if isinstance(types_[key], str) else _coerce(value, types_[key], f"sft.args.{key}")
    kwargs["output_dir"] = str(sft_output_dir(cfg))
    kwargs.update(report_to=[] if cfg.wandb.mode == "disabled" else ["wandb"], run_name=cfg.wandb.name)
    if "bf16" not in kwargs and "fp16" not in kwargs:  # as for GRPO: no mixed precision on a CPU box
        import torch

        kwargs["bf16"] = bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    return kwargs


def build_sft_config(cfg: RunConfig):
    """trl.SFTConfig, with TRL's own cross-field checks turned into one-line ConfigErrors."""
    from trl import SFTConfig as TRLSFTConfig

    kwargs = sft_kwargs(cfg)
    try:
        return TRLSFTConfig(**kwargs)
    except (ValueError, TypeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ConfigError(f"sft.args: {first}") from None


# ---------------------------------------------------------------------------------------------------------------
# Traces


def teacher_problems(cfg: RunConfig) -> list[dict[str, Any]]:
    """Arithmetic problems for SFT: the generator's distribution, own seed, no held-out eval question."""
    from rlkd.arithmetic import generate
    from rlkd.data import load_raw_splits

    _, raw_eval = load_raw_splits(cfg.data)
    held_out = set(raw_eval["question"])
    args = cfg.data.generator_args
    wanted = cfg.sft.num_problems or args.get("num_train", 256)
    gen_args = {k: args[k] for k in ("min_digits", "max_digits", "ops", "template") if k in args}
    seed = args.get("seed", 0) + SFT_SEED_OFFSET
    problems: list[dict[str, Any]] = []
    while len(problems) < wanted:  # top up when held-out questions were skipped
        batch = generate(2 * wanted, seed=seed, **gen_args)
        problems += [p for p in batch if p["question"] not in held_out][: wanted - len(problems)]
        seed += 1
    return problems


def sft_modes(thinking: str) -> list[str]:
    """Modes each SFT problem is answered in: both (paired) for mixed, else the run's one mode."""
    return ["on", "off"] if thinking == "mixed" else [thinking]


def build_sft_dataset(cfg: RunConfig):
    """A prompt/completion conversational dataset (plus chat_template_kwargs with enable_thinking), shuffled."""
    from datasets import Dataset, concatenate_datasets

    from rlkd.data import format_dataset, load_raw_splits

    parts = []
    if cfg.data.generator == "arithmetic":
        from rlkd.teacher import respond

        raw = Dataset.from_list(teacher_problems(cfg))
        for mode in sft_modes(cfg.data.thinking):
            rows = format_dataset(raw, dataclasses.replace(cfg.data, thinking=mode), seed=0)
            thinking = mode != "off"  # "none" gets the reasoning trace with no mode line
            parts.append(rows.map(lambda r, t=thinking: {"completion": _assistant(respond(r["question"], t))}))
    else:
        raw, _ = load_raw_splits(cfg.data)
        column = cfg.sft.completion_column
        if column not in raw.column_names:
            raise ConfigError(
                f"sft.completion_column: column '{column}' not in the dataset (columns: "
                f"{raw.column_names}); SFT needs the teacher's responses"
            )
        rows = format_dataset(raw, cfg.data, seed=0)
        parts.append(rows.map(lambda r: {"completion": _assistant(r[column])}))
    ds = concatenate_datasets(parts).shuffle(seed=0)
    keep = {"prompt", "completion", "chat_template_kwargs"}
    return ds.remove_columns([c for c in ds.column_names if c not in keep])


def _assistant(content: Any) -> list[dict[str, str]]:
    return content if isinstance(content, list) else [{"role": "assistant", "content": str(content)}]


# ---------------------------------------------------------------------------------------------------------------
# Running


def load_teacher(cfg: RunConfig, tokenizer):
    """The distillation teacher; it must share the student's vocabulary, token for token."""
    from rlkd.model import load_policy

    teacher, teacher_tok = load_policy(dataclasses.replace(cfg.model, name_or_path=cfg.sft.teacher))
    if teacher_tok.get_vocab() != tokenizer.get_vocab():
        raise ConfigError(
            f"sft.teacher '{cfg.sft.teacher}' has a different tokenizer from the student; logit "
            "distillation compares next-token distributions, so both need the same vocabulary"
        )
    return teacher


def run_sft(cfg: RunConfig) -> Path:
    """SFT (or distil) the student per `cfg`; returns the directory holding the trained model and tokenizer."""
    from trl import SFTTrainer

    from rlkd.config import dump_yaml, to_dict
    from rlkd.model import load_policy
    from rlkd.tracking import MetricsJSONLCallback, start_wandb

    args = build_sft_config(cfg)
    out = Path(args.output_dir)
    model, tokenizer = load_policy(cfg.model)
    dataset = build_sft_dataset(cfg)
    extra = {}
    trainer_cls = SFTTrainer
    if cfg.sft.teacher is not None and cfg.sft.alpha < 1.0:
        from rlkd.distill import DistillSFTTrainer

        trainer_cls = DistillSFTTrainer
        extra = dict(teacher_model=load_teacher(cfg, tokenizer), alpha=cfg.sft.alpha, temperature=cfg.sft.temperature)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "config.resolved.yaml", dump_yaml(cfg))
    run = start_wandb(dataclasses.replace(cfg.wandb, tags=[*cfg.wandb.tags, "sft"]), out, to_dict(cfg))
    try:
        trainer = trainer_cls(
            model=model,
            args=args,
            train_dataset=dataset,
            processing_class=tokenizer,
            callbacks=[MetricsJSONLCallback(out)],
            **extra,
        )
        trainer.train()
        trainer.save_model(str(out))
        tokenizer.save_pretrained(str(out))
    finally:
        if run is not None:
            run.finish()
    logger.info("SFT finished: %s (%d examples)", out, len(dataset))
    return out
