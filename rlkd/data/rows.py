"""Row checks at load time, so malformed data fails (or is skipped, counted) before a run starts.

Without them a missing solution or an over-long prompt surfaces as a traceback deep inside TRL hours into a run.
With `data.on_bad_rows: error` (default) the first bad row is a one-line error naming the row and column; with
`skip` bad rows are dropped, counted, and the first few reasons are reported. A row the file itself breaks (a JSONL
line that is not JSON or not UTF-8, a CSV record with the wrong number of fields) reaches the checks as a `BadRow`
that says where, so it is skipped or reported like any other bad row; an extra column whose values are of mixed
types (which Arrow cannot hold) fails or is skipped naming the row and the column.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from rlkd.errors import ConfigError

logger = logging.getLogger(__name__)


@dataclass
class RowReport:
    total: int = 0
    skipped: int = 0
    reasons: list[str] = field(default_factory=list)  # the first few, for the log and data_report.json
    eval_overlap: int | None = None  # eval rows whose prompt is also a train prompt (None: no eval rows)

    def add(self, reason: str) -> None:
        self.skipped += 1
        if len(self.reasons) < 10:
            self.reasons.append(reason)

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "skipped": self.skipped,
            "reasons": self.reasons,
            "eval_overlap": self.eval_overlap,
        }


class BadRow(dict):
    """A row the source file could not give (a line that does not parse, a ragged record): `problem` says why."""

    def __init__(self, problem: str):
        super().__init__()
        self.problem = problem


def row_problem(row: dict[str, Any], prompt_col: str, solution_col: str, thinking_column: bool = False) -> str | None:
    """What is wrong with a raw row, or None. Numbers are fine as solutions (they have one string form).
    `thinking_column`: the row's own `thinking` value is the sample's mode (data.thinking: none), so it must be one."""
    if isinstance(row, BadRow):
        return row.problem
    if prompt_col not in row or row[prompt_col] is None:
        return f"column '{prompt_col}' is missing"
    prompt = row[prompt_col]
    if isinstance(prompt, str):
        if not prompt.strip():
            return f"column '{prompt_col}' is empty"
    elif isinstance(prompt, list):
        if not prompt or not all(isinstance(m, dict) and "role" in m and "content" in m for m in prompt):
            return f"column '{prompt_col}' must be a string or a list of {{role, content}} messages"
        for n, m in enumerate(prompt):
            if not isinstance(m["role"], str) or not isinstance(m["content"], str):
                key = "role" if not isinstance(m["role"], str) else "content"
                return f"column '{prompt_col}' message {n}: {key} must be a string, got {type(m[key]).__name__}"
        if not any(m["content"].strip() for m in prompt):
            return f"column '{prompt_col}' has no non-empty message"
    else:
        return f"column '{prompt_col}' must be a string or chat messages, got {type(prompt).__name__}"
    if solution_col not in row or row[solution_col] is None:
        return f"column '{solution_col}' is missing"
    solution = row[solution_col]
    if isinstance(solution, bool) or not isinstance(solution, (str, int, float)):
        return f"column '{solution_col}' must be a string, got {type(solution).__name__}"
    if isinstance(solution, str) and not solution.strip():
        return f"column '{solution_col}' is empty"
    if thinking_column:
        from rewards.text import parse_mode

        try:
            parse_mode(row.get("thinking"))
        except ValueError as e:
            return f"column 'thinking': {e}"
    return None


def check_rows(
    rows: list[dict],
    prompt_col: str,
    solution_col: str,
    on_bad: str,
    split: str,
    report: RowReport,
    thinking_column: bool = False,
) -> list[int]:
    """Indices of the well-formed rows; raises on the first bad row when `on_bad` is "error"."""
    report.total += len(rows)
    kept = []
    for i, row in enumerate(rows):
        problem = row_problem(row, prompt_col, solution_col, thinking_column)
        if problem is None:
            kept.append(i)
        elif on_bad == "error":
            raise ConfigError(f"data ({split} split) row {i}: {problem}; fix the row or set data.on_bad_rows: skip")
        else:
            report.add(f"{split} row {i}: {problem}")
    return kept


def _kind(value: Any) -> str | None:
    """The kind of value Arrow keeps in one column: a column mixing kinds (a number here, a string there) fails."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


def check_column_types(rows: list[dict], indices: list[int], on_bad: str, split: str, report: RowReport) -> list[int]:
    """Positions (into `rows`) of rows whose every column holds the kind of value the column's first row does;
    `indices` are their source row numbers. Then Arrow itself checks each column (nested values), naming the first
    row it cannot join to the rows before it."""
    first: dict[str, tuple[str, int]] = {}  # column -> (kind, source row)
    kept = []
    for pos, (row, source) in enumerate(zip(rows, indices)):
        problem = None
        for column, value in row.items():
            kind = _kind(value)
            if kind is None:
                continue
            seen = first.setdefault(column, (kind, source))
            if seen[0] != kind:
                problem = f"column '{column}' is {kind} here but {seen[0]} in row {seen[1]}"
                break
        if problem is None:
            kept.append(pos)
        elif on_bad == "error":
            raise ConfigError(
                f"data ({split} split) row {source}: {problem}; fix the row or set data.on_bad_rows: skip"
            )
        else:
            report.add(f"{split} row {source}: {problem}")
    return _arrow_check([rows[p] for p in kept], kept, indices, on_bad, split, report)


def _arrow_check(rows, positions, indices, on_bad, split, report) -> list[int]:
    """What the kind check cannot see (a list of numbers then a list of strings): the first row of each column
    Arrow cannot join to the rows before it, found by bisection (only when the column as a whole fails)."""
    import pyarrow as pa

    bad: set[int] = set()
    for column in dict.fromkeys(k for row in rows for k in row):
        values = [row.get(column) for row in rows]
        while True:
            live = [i for i in range(len(values)) if i not in bad]
            try:
                pa.array([values[i] for i in live])
                break
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as e:
                low, high = 1, len(live)  # the shortest failing prefix ends at the culprit
                while low < high:
                    mid = (low + high) // 2
                    try:
                        pa.array([values[i] for i in live[:mid]])
                        low = mid + 1
                    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
                        high = mid
                culprit = live[low - 1]
                source = indices[positions[culprit]]
                problem = f"column '{column}' does not match the type of the rows before it ({str(e).splitlines()[0]})"
                if on_bad == "error":
                    raise ConfigError(
                        f"data ({split} split) row {source}: {problem}; fix the row or set data.on_bad_rows: skip"
                    ) from None
                report.add(f"{split} row {source}: {problem}")
                bad.add(culprit)
    return [p for i, p in enumerate(positions) if i not in bad]


@dataclass(frozen=True)
class LengthLimit:
    """The prompt budget: the model context minus the completion length."""

    tokenizer: Any
    context: int
    completion: int

    @property
    def limit(self) -> int:
        return self.context - self.completion


def check_prompt_lengths(
    prompts: list, indices: list[int], budget: LengthLimit, on_bad: str, split: str, report: RowReport
) -> list[int]:
    """Positions (into `prompts`) of prompts that fit the budget; `indices` are their source row numbers."""
    from rlkd.model import render_prompts

    tok = budget.tokenizer
    lengths = [
        len(ids)
        for start in range(0, len(prompts), 1024)
        for ids in tok(render_prompts(tok, prompts[start : start + 1024]), add_special_tokens=False)["input_ids"]
    ]
    kept = []
    for pos, (row, n) in enumerate(zip(indices, lengths)):
        if n <= budget.limit:
            kept.append(pos)
            continue
        message = (
            f"data ({split} split) row {row}: prompt is {n} tokens, but the model context ({budget.context}) "
            f"minus generation.max_completion_length ({budget.completion}) leaves {budget.limit}"
        )
        if on_bad == "error":
            raise ConfigError(f"{message}; shorten it or set data.on_bad_rows: skip")
        report.add(f"{split} row {row}: prompt of {n} tokens exceeds {budget.limit}")
    return kept


def length_budget(tokenizer, model_config, completion: int) -> LengthLimit | None:
    """The prompt budget from the model's context length, or None when the config does not state one."""
    for attr in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        value = getattr(model_config, attr, None)
        if isinstance(value, int):
            return LengthLimit(tokenizer, value, completion)
    return None
