"""Datasets for a run: load (or generate) prompt/solution rows and turn prompts into chat messages.

Each row leaves here with `prompt` (a list of chat messages), `solution` (a string) and `thinking` (bool), so the
rewards can read the reasoning mode per sample. The mode line follows the Llama-Nemotron toggle: the system
message "detailed thinking on" / "detailed thinking off" (or `/think` / `/no_think` with thinking_style "slash").

With thinking_style "enable_thinking" (templates such as Qwen3's that take the flag as a template argument) no mode
line is written; each row gets a `chat_template_kwargs` column ({"enable_thinking": mode}) that TRL's SFTTrainer and
`rlkd eval` apply per row. TRL's GRPOTrainer applies one global `chat_template_kwargs` to every prompt, so a GRPO run
in this style has a single mode (rlkd.config.grpo_kwargs sets it and refuses "mixed").
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from rlkd.config import ConfigError, DataConfig

MODE_LINES = {"nemotron": ("detailed thinking on", "detailed thinking off"), "slash": ("/think", "/no_think")}
_FILE_BUILDERS = {".json": "json", ".jsonl": "json", ".parquet": "parquet", ".csv": "csv"}


def load_splits(cfg: DataConfig) -> tuple[Any, Any | None]:
    """Return (train, eval) `datasets.Dataset`s with prompt/solution/thinking columns; eval may be None."""
    raw_train, raw_eval = load_raw_splits(cfg)
    train = format_dataset(raw_train, cfg, seed=0)
    evals = format_dataset(raw_eval, cfg, seed=1) if raw_eval is not None else None
    return train, evals


def load_raw_splits(cfg: DataConfig) -> tuple[Any, Any | None]:
    """(train, eval) rows as loaded or generated, before any chat formatting; eval may be None."""
    from datasets import Dataset

    if cfg.generator == "arithmetic":
        from rlkd.arithmetic import generate_splits

        try:
            splits = generate_splits(**cfg.generator_args)
        except TypeError as e:
            raise ConfigError(f"data.generator_args: {e}") from None
        return Dataset.from_list(splits["train"]), Dataset.from_list(splits["eval"])
    raw_train = _load_path(cfg.path, cfg.train_split)
    return raw_train, _load_path(cfg.path, cfg.eval_split) if cfg.eval_split else None


def _load_path(path: str, split: str):
    import datasets

    p = Path(path)
    try:
        if p.is_dir() and any((p / f).exists() for f in ("dataset_info.json", "dataset_dict.json")):
            loaded = datasets.load_from_disk(str(p))
            return loaded[split] if isinstance(loaded, datasets.DatasetDict) else loaded
        if p.is_file():
            builder = _FILE_BUILDERS.get(p.suffix)
            if builder is None:
                raise ConfigError(f"data.path: unsupported file type '{p.suffix}'; use one of {sorted(_FILE_BUILDERS)}")
            return datasets.load_dataset(builder, data_files={split: str(p)}, split=split)
        return datasets.load_dataset(path, split=split)
    except (FileNotFoundError, ValueError, OSError) as e:
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ConfigError(f"data.path '{path}' (split '{split}') could not be loaded: {msg}") from None


def mode_message(cfg: DataConfig, thinking: bool) -> str | None:
    """The system message for a mode; None when there is none to write (enable_thinking, no system prompt)."""
    if cfg.thinking_style not in MODE_LINES:  # the mode travels as a template argument instead
        return cfg.system_prompt
    on, off = MODE_LINES[cfg.thinking_style]
    line = on if thinking else off
    return f"{cfg.system_prompt}\n{line}" if cfg.system_prompt else line


def chat_template_kwargs(cfg: DataConfig, thinking: bool | None) -> dict[str, Any]:
    """Template arguments a row is rendered with: the enable_thinking flag in that style, else none."""
    if cfg.thinking_style == "enable_thinking" and thinking is not None:
        return {"enable_thinking": bool(thinking)}
    return {}


def format_dataset(ds, cfg: DataConfig, seed: int = 0):
    """Rename columns to prompt/solution, assign a reasoning mode per row, build chat prompts."""
    for want, have in (("prompt", cfg.prompt_column), ("solution", cfg.solution_column)):
        if have not in ds.column_names:
            raise ConfigError(f"data.{want}_column: column '{have}' not in the dataset (columns: {ds.column_names})")
    for want, have in (("prompt", cfg.prompt_column), ("solution", cfg.solution_column)):
        if have != want:
            ds = ds.remove_columns([c for c in (want,) if c in ds.column_names]).rename_column(have, want)
    modes = assign_modes(len(ds), cfg.thinking, cfg.thinking_ratio, seed)

    def to_messages(row: dict, idx: int) -> dict:
        prompt = row["prompt"]
        messages = list(prompt) if isinstance(prompt, list) else [{"role": "user", "content": str(prompt)}]
        out = {"prompt": messages, "solution": str(row["solution"])}
        if modes is not None:
            has_system = messages and messages[0]["role"] == "system"
            system = mode_message(cfg, modes[idx])
            if not has_system and system is not None:
                out["prompt"] = [{"role": "system", "content": system}, *messages]
            out["thinking"] = modes[idx]
            if cfg.thinking_style == "enable_thinking":
                out["chat_template_kwargs"] = chat_template_kwargs(cfg, modes[idx])
        return out

    return ds.map(to_messages, with_indices=True)


def assign_modes(n: int, thinking: str, ratio: float, seed: int) -> list[bool] | None:
    """Per-row reasoning mode: all on, all off, or a seeded shuffle with round(ratio * n) rows on."""
    if thinking == "none":
        return None
    if thinking in ("on", "off"):
        return [thinking == "on"] * n
    n_on = round(ratio * n)
    modes = [True] * n_on + [False] * (n - n_on)
    random.Random(seed).shuffle(modes)
    return modes
