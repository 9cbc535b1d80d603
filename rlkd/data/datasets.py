"""Datasets for a run: load (or generate) prompt/solution rows, check them, and turn prompts into chat messages.

Each row leaves here with `prompt` (a list of chat messages), `solution` (a string) and `thinking` (bool), so the
rewards can read the reasoning mode per sample. The mode line follows the Llama-Nemotron toggle: the system
message "detailed thinking on" / "detailed thinking off" (or `/think` / `/no_think` with thinking_style "slash").

Rows are handled as Python dicts between loading and the final `Dataset.from_list`: a JSONL file with one malformed
row (a list where a string should be) would otherwise fail inside Arrow with no row number.

With thinking_style "enable_thinking" (templates such as Qwen3's that take the flag as a template argument) no mode
line is written; each row gets a `chat_template_kwargs` column ({"enable_thinking": mode}) that TRL's SFTTrainer and
`rlkd eval` apply per row. TRL's GRPOTrainer applies one global `chat_template_kwargs` to every prompt, so a GRPO run
in this style has a single mode (rlkd.config.grpo_kwargs sets it and refuses "mixed").

Generated data (`data.generator`) comes from a task registered in rlkd.data.generators; this module never names one.
"""

from __future__ import annotations

import json
import logging
import random
from pathlib import Path
from typing import Any

from rlkd.config import ConfigError, DataConfig, RunConfig
from rlkd.data.rows import (
    BadRow,
    LengthLimit,
    RowReport,
    check_column_types,
    check_prompt_lengths,
    check_rows,
    length_budget,
)
from rlkd.errors import first_line

logger = logging.getLogger(__name__)

MODE_LINES = {"nemotron": ("detailed thinking on", "detailed thinking off"), "slash": ("/think", "/no_think")}
_ARROW_FILES = {".parquet": "parquet", ".csv": "csv"}


def load_splits(
    cfg: DataConfig, report: RowReport | None = None, budget: LengthLimit | None = None
) -> tuple[Any, Any | None]:
    """Return (train, eval) `datasets.Dataset`s with prompt/solution/thinking columns; eval may be None.

    Malformed rows, and prompts over the `budget` (context minus completion length), fail or are skipped and
    counted in `report`, per `data.on_bad_rows`; errors name the row of the source data.
    """
    from datasets import Dataset

    report = report if report is not None else RowReport()
    raw_train, raw_eval = raw_rows(cfg)

    def prepare(rows: list[dict], split: str, seed: int):
        own_modes = cfg.thinking == "none"  # a dataset's own `thinking` column then carries each sample's mode
        indices = check_rows(rows, cfg.prompt_column, cfg.solution_column, cfg.on_bad_rows, split, report, own_modes)
        typed = check_column_types([rows[i] for i in indices], indices, cfg.on_bad_rows, split, report)
        indices = [indices[pos] for pos in typed]
        formatted = format_rows([rows[i] for i in indices], cfg, seed)
        if budget is not None:
            fits = check_prompt_lengths(
                [r["prompt"] for r in formatted], indices, budget, cfg.on_bad_rows, split, report
            )
            formatted = [formatted[pos] for pos in fits]
        if not formatted:
            raise ConfigError(f"data: the {split} split has no usable rows")
        return Dataset.from_list(formatted)

    train = prepare(raw_train, "train", seed=0)
    evals = prepare(raw_eval, "eval", seed=1) if raw_eval is not None else None
    if raw_eval is not None:
        report.eval_overlap = eval_overlap(raw_train, raw_eval, cfg.prompt_column)
        if report.eval_overlap:
            logger.warning(
                "%d of the %d eval rows ask a prompt that is also in the train rows: their eval scores are not "
                "held-out scores",
                report.eval_overlap,
                len(raw_eval),
            )
    return train, evals


def load_training_data(cfg: RunConfig, tokenizer, model_config, report: RowReport | None = None):
    """(train, eval) exactly as training sees them: every row check, and the prompt-length budget of this model
    (its context minus generation.max_completion_length). `rlkd train`, `passrate` and `validate` all load here,
    so a prompt too long to train on is never estimated either."""
    budget = length_budget(tokenizer, model_config, cfg.generation.max_completion_length)
    train, evals = load_splits(cfg.data, report, budget)
    if cfg.data.thinking_style == "enable_thinking" and "thinking" in train.column_names:
        want = cfg.data.thinking == "on"  # grpo_kwargs allows on/off only: TRL renders every prompt with one flag
        other = next((i for i, t in enumerate(train["thinking"]) if t is not None and t != want), None)
        if other is not None:
            raise ConfigError(
                f"data (train split) row {other}: its own mode is thinking {'on' if not want else 'off'}, but with "
                f"data.thinking_style enable_thinking every GRPO prompt is rendered with enable_thinking={want}; use "
                "thinking_style nemotron or slash (a mode line per row) for data with its own modes"
            )
    return train, evals


def raw_rows(cfg: DataConfig) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None]:
    """(train, eval) rows as loaded or generated, as dicts (unchecked, unformatted); eval None when there is none."""
    if cfg.generator is not None:
        from rlkd.data.generators import get_generator

        task = get_generator(cfg.generator)
        try:
            splits = task.splits(**cfg.generator_args)
        except (TypeError, ValueError, LookupError, ArithmeticError) as e:  # what bad arguments raise in a task
            raise ConfigError(f"data.generator_args: {first_line(e)}") from None
        train, evals = splits["train"], splits.get("eval")
    else:
        train, evals = load_rows(cfg.path, cfg.train_split), None
        if cfg.eval_split is not None and cfg.eval_path is None:
            if Path(cfg.path).is_file():
                raise ConfigError(
                    f"data.eval_split '{cfg.eval_split}': data.path '{cfg.path}' is a single file, which has no "
                    f"splits (its {len(train)} rows would be both the train and the eval rows); set data.eval_path to "
                    "a file of held-out rows, or data.eval_fraction (e.g. 0.1) to hold out a seeded share of its rows"
                )
            evals = load_rows(cfg.path, cfg.eval_split)
    if cfg.eval_path is not None:
        evals = load_rows(cfg.eval_path, cfg.eval_split, what="data.eval_path")
    elif cfg.eval_fraction is not None:
        if evals is not None:
            raise ConfigError(f"data.eval_fraction: data.generator '{cfg.generator}' has an eval split of its own")
        train, evals = carve_eval(train, cfg.eval_fraction, cfg.eval_seed, cfg.path or cfg.generator)
    return train, evals


def carve_eval(rows: list[dict], fraction: float, seed: int, source: str) -> tuple[list[dict], list[dict]]:
    """(train, eval): a seeded `fraction` of `rows` held out, each part in source order."""
    n_eval = max(1, round(fraction * len(rows)))
    if n_eval >= len(rows):
        raise ConfigError(f"data.eval_fraction {fraction} of {len(rows)} rows leaves no train rows")
    held = set(random.Random(seed).sample(range(len(rows)), n_eval))
    logger.info(
        "data.eval_fraction %s: held out %d of the %d rows of %s as the eval split (data.eval_seed %d); training "
        "uses the other %d",
        fraction,
        n_eval,
        len(rows),
        source,
        seed,
        len(rows) - n_eval,
    )
    return [r for i, r in enumerate(rows) if i not in held], [r for i, r in enumerate(rows) if i in held]


def eval_overlap(train: list[dict], evals: list[dict], prompt_column: str) -> int:
    """How many eval rows ask a prompt that is also a train prompt (a held-out score over those is not held out)."""
    key = lambda row: json.dumps(row.get(prompt_column), sort_keys=True, default=str)  # noqa: E731
    seen = {key(r) for r in train}
    return sum(key(r) in seen for r in evals)


def load_rows(path: str, split: str | None, what: str = "data.path") -> list[dict[str, Any]]:
    """Rows of a JSON/JSONL/Parquet/CSV file (all of them: a file has no splits), a `save_to_disk` directory, or a
    Hub dataset, as dicts. `split` None: the source's only split (an error naming them if it has several)."""
    p = Path(path)
    if p.is_file() and p.suffix in (".json", ".jsonl"):
        return _read_json_rows(p)
    if p.is_file() and p.suffix == ".csv" and (ragged := _ragged_csv(p)) is not None:
        return ragged
    import datasets

    try:
        if p.is_dir() and any((p / f).exists() for f in ("dataset_info.json", "dataset_dict.json")):
            ds = _pick_split(datasets.load_from_disk(str(p)), split, path, what)
        elif p.is_file():
            builder = _ARROW_FILES.get(p.suffix)
            if builder is None:
                kinds = sorted([".json", ".jsonl", *_ARROW_FILES])
                raise ConfigError(f"{what}: unsupported file type '{p.suffix}'; use one of {kinds}")
            ds = datasets.load_dataset(builder, data_files={"train": str(p)}, split="train")
        else:
            ds = _pick_split(datasets.load_dataset(path, split=split), split, path, what)
    except (FileNotFoundError, ValueError, OSError) as e:
        raise ConfigError(f"{what} '{path}' (split '{split}') could not be loaded: {first_line(e)}") from None
    return ds.to_list()


def _pick_split(loaded, split: str | None, path: str, what: str):
    import datasets

    if not isinstance(loaded, datasets.DatasetDict):
        return loaded
    if split is None and len(loaded) == 1:
        return next(iter(loaded.values()))
    if split is None or split not in loaded:
        raise ConfigError(f"{what} '{path}' has the splits {sorted(loaded)}: name one with data.eval_split")
    return loaded[split]


def _read_json_rows(path: Path) -> list[dict[str, Any]]:
    """A JSON array file, or JSONL: one row per line. A line that is not UTF-8, not JSON (a truncated last line,
    typically) or not an object becomes a BadRow naming the line, so `data.on_bad_rows` decides."""
    data = path.read_bytes()
    if path.suffix == ".json" and data.lstrip().startswith(b"["):
        try:
            rows = json.loads(data.decode("utf-8"))
        except UnicodeDecodeError as e:
            raise ConfigError(f"data.path {path}: not UTF-8 (byte {e.start})") from None
        except json.JSONDecodeError as e:
            raise ConfigError(f"data.path {path}: invalid JSON at line {e.lineno}: {e.msg}") from None
        return [r if isinstance(r, dict) else {} for r in rows]  # the row check reports non-object rows
    rows = []
    for lineno, raw in enumerate(data.split(b"\n"), 1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as e:
            row = BadRow(f"line {lineno} is not valid UTF-8 (byte 0x{raw[e.start]:02x} at column {e.start + 1})")
        except json.JSONDecodeError as e:
            row = BadRow(f"line {lineno} is not valid JSON at column {e.colno} ({e.msg})")
        if not isinstance(row, dict):
            row = BadRow(f"line {lineno} is a JSON {type(row).__name__}, not an object")
        rows.append(row)
    return rows


def _ragged_csv(path: Path) -> list[dict[str, Any]] | None:
    """The rows of a CSV file with records whose field count differs from the header's (each a BadRow naming
    its line), parsed like the regular loader parses the rest; None when every record fits (the regular loader
    then reads the file)."""
    import csv
    import io

    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        line = path.read_bytes()[: e.start].count(b"\n") + 1
        raise ConfigError(f"data.path {path}: line {line} is not valid UTF-8 (byte {e.start})") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        return None
    good, bad = [], {}
    for index, record in enumerate(reader):
        if len(record) == len(header):
            good.append(record)
        else:
            bad[index] = BadRow(f"line {reader.line_num} has {len(record)} fields, the header {len(header)}")
    if not bad:
        return None
    import pandas as pd
    from datasets import Dataset

    buf = io.StringIO()
    csv.writer(buf).writerows([header, *good])
    parsed = iter(Dataset.from_pandas(pd.read_csv(io.StringIO(buf.getvalue()))).to_list())
    return [bad[i] if i in bad else next(parsed) for i in range(len(good) + len(bad))]


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


def load_raw_splits(cfg: DataConfig) -> tuple[Any, Any | None]:
    """(train, eval) rows as loaded or generated, unchecked and before any chat formatting, as Datasets."""
    from datasets import Dataset

    train, evals = raw_rows(cfg)

    def readable(rows: list[dict]) -> list[dict]:  # a line the file broke has nothing to format
        return [r for r in rows if not isinstance(r, BadRow)]

    return Dataset.from_list(readable(train)), Dataset.from_list(readable(evals)) if evals is not None else None


def format_dataset(rows, cfg: DataConfig, seed: int = 0):
    """`format_rows` over a Dataset or a list of rows, as a Dataset."""
    from datasets import Dataset

    return Dataset.from_list(format_rows(rows.to_list() if hasattr(rows, "to_list") else rows, cfg, seed))


def own_modes(rows: list[dict[str, Any]], cfg: DataConfig, split: str = "train") -> list[bool | None]:
    """Each row's own reasoning mode: its `thinking` column, else its prompt's toggle (a system message "detailed
    thinking on/off", `/think`, `/no_think`), else None. A row whose column and prompt disagree is an error naming
    the row: scoring it in either mode would be wrong for the other."""
    from rewards import RewardError
    from rewards.text import column_mode, prompt_mode

    modes = []
    for i, row in enumerate(rows):
        try:
            column = column_mode(row.get("thinking"), i)
        except RewardError:
            raise ConfigError(
                f"data ({split} split) row {i}: column 'thinking' = {row.get('thinking')!r} is not a reasoning mode "
                "(true/false, on/off, 1/0); fix the row or rename the column"
            ) from None
        prompt = prompt_mode(row.get(cfg.prompt_column))
        if column is not None and prompt is not None and column != prompt:
            raise ConfigError(
                f"data ({split} split) row {i}: its thinking column says {'on' if column else 'off'} but its prompt "
                f"asks for thinking {'on' if prompt else 'off'}; make them agree (or drop one)"
            )
        modes.append(column if column is not None else prompt)
    return modes


def format_rows(
    rows: list[dict[str, Any]], cfg: DataConfig, seed: int = 0, split: str = "train"
) -> list[dict[str, Any]]:
    """Rename columns to prompt/solution, give each row a reasoning mode, build chat prompts.

    A row's own mode (`own_modes`) wins; `data.thinking` only fills the rows that have none (`mixed`: a seeded
    `thinking_ratio` share of them on). A row whose mode its prompt does not state gets the mode line (appended to
    its own system message if it has one), so prompt and `thinking` column always agree.
    """
    for want, have in (("prompt", cfg.prompt_column), ("solution", cfg.solution_column)):
        if rows and have not in rows[0]:
            raise ConfigError(f"data.{want}_column: column '{have}' not in the dataset (columns: {list(rows[0])})")
    own = own_modes(rows, cfg, split)
    unset = [i for i, m in enumerate(own) if m is None]
    fill = assign_modes(len(unset), cfg.thinking, cfg.thinking_ratio, seed)
    modes = list(own)
    if fill is not None:
        for i, mode in zip(unset, fill):
            modes[i] = mode
    with_mode = any(m is not None for m in modes)
    out = []
    for row, mode in zip(rows, modes):
        prompt = row[cfg.prompt_column]
        messages = [dict(m) for m in prompt] if isinstance(prompt, list) else [{"role": "user", "content": prompt}]
        new = {k: v for k, v in row.items() if k not in (cfg.prompt_column, cfg.solution_column)}
        new["prompt"], new["solution"] = messages, str(row[cfg.solution_column])
        if with_mode:
            from rewards.text import prompt_mode

            if mode is not None and prompt_mode(messages) is None:
                new["prompt"] = _with_mode_line(messages, cfg, mode)
            new["thinking"] = mode
            if cfg.thinking_style == "enable_thinking":
                new["chat_template_kwargs"] = chat_template_kwargs(cfg, mode)
        out.append(new)
    return out


def _with_mode_line(messages: list[dict[str, Any]], cfg: DataConfig, mode: bool) -> list[dict[str, Any]]:
    """The messages with the mode stated: a system message of data.system_prompt and the mode line in front, or,
    when the row has a system message of its own, the mode line appended to it."""
    if messages[0]["role"] != "system":
        system = mode_message(cfg, mode)
        return messages if system is None else [{"role": "system", "content": system}, *messages]
    if cfg.thinking_style not in MODE_LINES:  # enable_thinking: the mode travels as a template argument
        return messages
    line = MODE_LINES[cfg.thinking_style][0 if mode else 1]
    first = messages[0]
    content = first["content"] if isinstance(first["content"], str) else ""
    return [{**first, "content": f"{content}\n{line}" if content.strip() else line}, *messages[1:]]


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
