"""The SFT dataset: prompt/completion chat pairs, the prompts being the very chat prompts GRPO will sample from.

With a teacher task (`data.generator` naming a rlkd.data.generators.TeacherTask, like the demo's arithmetic) the
responses are the teacher's, paired as in the Llama-Nemotron recipe: every problem once with "detailed thinking
on" and its reasoning, and once with "detailed thinking off" and the bare answer (for `data.thinking: mixed`).
Otherwise they come from the dataset's `sft.completion_column`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from rlkd.config import RunConfig
from rlkd.errors import ConfigError


def sft_modes(thinking: str) -> list[str]:
    """Modes each SFT problem is answered in: both (paired) for mixed, else the run's one mode."""
    return ["on", "off"] if thinking == "mixed" else [thinking]


def teacher_task(cfg: RunConfig):
    """The run's generator when it is a teacher, else None."""
    if cfg.data.generator is None:
        return None
    from rlkd.data.generators import TeacherTask, get_generator

    task = get_generator(cfg.data.generator)
    return task if isinstance(task, TeacherTask) else None


def teacher_problems(cfg: RunConfig) -> list[dict[str, Any]]:
    """The teacher task's SFT problems: none of them in the held-out eval split."""
    from rlkd.data.datasets import load_raw_splits

    _, raw_eval = load_raw_splits(cfg.data)
    eval_rows = raw_eval.to_list() if raw_eval is not None else []
    return teacher_task(cfg).sft_problems(cfg.data.generator_args, eval_rows, cfg.sft.num_problems)


def build_sft_dataset(cfg: RunConfig):
    """A prompt/completion conversational dataset (plus chat_template_kwargs with enable_thinking), shuffled."""
    from datasets import Dataset, concatenate_datasets

    from rlkd.data.datasets import format_dataset, load_raw_splits

    parts = []
    task = teacher_task(cfg)
    if task is not None:
        raw = Dataset.from_list(teacher_problems(cfg))
        for mode in sft_modes(cfg.data.thinking):
            rows = format_dataset(raw, dataclasses.replace(cfg.data, thinking=mode), seed=0)
            thinking = mode != "off"  # "none" gets the reasoning trace with no mode line
            parts.append(rows.map(lambda r, t=thinking: {"completion": _assistant(task.respond(r, t))}))
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
