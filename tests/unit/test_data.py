"""Loading and checking data: malformed rows fail naming row and column, or are skipped and counted."""

import dataclasses
import json

import pytest

from rlkd.config import ConfigError, DataConfig
from rlkd.data.datasets import assign_modes, load_splits
from rlkd.data.rows import RowReport, row_problem


@pytest.mark.parametrize(
    "row, problem",
    [
        ({"prompt": "2+2?", "solution": "4"}, None),  # well-formed
        ({"prompt": "2+2?", "solution": 4}, None),  # a number has one string form: accepted
        ({"prompt": [{"role": "user", "content": "2+2?"}], "solution": "4"}, None),  # chat messages
        ({"solution": "4"}, "column 'prompt' is missing"),
        ({"prompt": "2+2?"}, "column 'solution' is missing"),
        ({"prompt": "  ", "solution": "4"}, "column 'prompt' is empty"),
        ({"prompt": [], "solution": "4"}, "must be a string or a list of {role, content} messages"),
        ({"prompt": [{"role": "user", "content": ""}], "solution": "4"}, "has no non-empty message"),
        ({"prompt": 7, "solution": "4"}, "must be a string or chat messages, got int"),
        ({"prompt": "2+2?", "solution": ["4"]}, "column 'solution' must be a string, got list"),
        ({"prompt": "2+2?", "solution": True}, "column 'solution' must be a string, got bool"),
        ({"prompt": "2+2?", "solution": ""}, "column 'solution' is empty"),
    ],
)
def test_row_problems(row, problem):
    found = row_problem(row, "prompt", "solution")
    assert (found is None) if problem is None else (problem in found)


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


GOOD = [{"question": f"Compute {i}+1.", "answer": str(i + 1)} for i in range(6)]


def test_error_names_row_and_column(tmp_path):
    rows = [*GOOD[:3], {"question": "Compute 9+1.", "answer": None}, *GOOD[3:]]
    cfg = DataConfig(path=_jsonl(tmp_path / "d.jsonl", rows), prompt_column="question", solution_column="answer")
    with pytest.raises(ConfigError, match=r"row 3: column 'answer' is missing; fix the row or set data.on_bad_rows"):
        load_splits(cfg)


def test_skip_counts_bad_rows_and_keeps_good_ones(tmp_path):
    rows = [*GOOD, {"question": "", "answer": "1"}, {"question": "Compute 1+1.", "answer": {"x": 2}}, [1, 2]]
    cfg = DataConfig(
        path=_jsonl(tmp_path / "d.jsonl", rows),
        prompt_column="question",
        solution_column="answer",
        on_bad_rows="skip",
        thinking="off",
    )
    report = RowReport()
    train, _ = load_splits(cfg, report)
    assert len(train) == 6 and report.skipped == 3 and report.total == 9
    assert train[0]["prompt"] == [
        {"role": "system", "content": "detailed thinking off"},
        {"role": "user", "content": "Compute 0+1."},
    ]
    assert train[0]["solution"] == "1" and train[0]["thinking"] is False


def test_invalid_json_line_is_named(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"prompt": "a", "solution": "1"}\n{"prompt": "b", "solu\n')
    with pytest.raises(ConfigError, match="line 2 is not valid JSON"):
        load_splits(DataConfig(path=str(path)))


def test_missing_column_lists_columns(tmp_path):
    cfg = DataConfig(path=_jsonl(tmp_path / "d.jsonl", GOOD))  # default columns prompt/solution do not exist
    with pytest.raises(ConfigError, match="column 'prompt' is missing"):
        load_splits(cfg)


def test_over_long_prompts_name_the_source_row(tmp_path, tiny_model_dir):
    from transformers import AutoTokenizer

    from rlkd.data.rows import LengthLimit

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    rows = [*GOOD[:2], {"question": "", "answer": "1"}, *GOOD[2:], {"question": "x" * 600, "answer": "1"}]
    path = _jsonl(tmp_path / "d.jsonl", rows)
    # context 512, completions of 48: a prompt may take 464 tokens; source row 7 has 600+ (one token per character)
    budget = LengthLimit(tok, 512, 48)
    cfg = DataConfig(path=path, prompt_column="question", solution_column="answer", on_bad_rows="skip")
    report = RowReport()
    train, _ = load_splits(cfg, report, budget)
    assert len(train) == 6 and report.skipped == 2
    assert report.reasons[1].startswith("train row 7: prompt of")  # the source row, not the position after skips
    strict = DataConfig(path=path, prompt_column="question", solution_column="answer")
    with pytest.raises(ConfigError, match=r"row 2: column 'question' is empty"):
        load_splits(strict, RowReport(), budget)


@pytest.mark.parametrize(
    "thinking, ratio, expected_on",
    [("on", 0.5, 10), ("off", 0.5, 0), ("mixed", 0.5, 5), ("mixed", 0.3, 3)],  # round(ratio * 10) rows on
)
def test_assign_modes(thinking, ratio, expected_on):
    modes = assign_modes(10, thinking, ratio, seed=0)
    assert sum(modes) == expected_on and len(modes) == 10
    assert assign_modes(10, thinking, ratio, seed=0) == modes  # seeded


class _TwoRows:
    """A user's task: two rows of its own, found by `package.module:object` like a reward."""

    def splits(self, n: int = 2):
        rows = [{"prompt": f"q{i}", "solution": str(i)} for i in range(n)]
        return {"train": rows, "eval": rows[:1]}


TWO_ROWS = _TwoRows()


@pytest.mark.parametrize(
    "generator, message",
    [
        ("arithmetc", "unknown data.generator 'arithmetc'; known generators: arithmetic"),  # a typo lists the known
        ("no_such_module_x:TASK", "cannot import it"),  # a module:object that does not import
    ],
)
def test_unknown_generator_is_one_line(generator, message):
    with pytest.raises(ConfigError, match=message):
        load_splits(DataConfig(generator=generator))


def test_a_users_generator_by_module_and_object():
    train, evals = load_splits(DataConfig(generator=f"{__name__}:TWO_ROWS", generator_args={"n": 3}, thinking="off"))
    assert train["solution"] == ["0", "1", "2"] and evals["solution"] == ["0"]
    assert train["thinking"] == [False] * 3  # formatted like any other data
    with pytest.raises(ConfigError, match="data.generator_args"):
        load_splits(DataConfig(generator=f"{__name__}:TWO_ROWS", generator_args={"m": 3}))  # a bad argument


# The data faults an outside test found (each gave a traceback, or was fatal even with on_bad_rows: skip): the input
# that broke it, the one-line error under `error`, and the count under `skip`.
def _truncated_last_line(path):
    path.write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in GOOD) + b'{"question": "Compute 7+1.", "ans')


def _invalid_utf8(path):
    lines = [json.dumps(r).encode() for r in GOOD]
    lines[2] = b'{"question": "Compute \xff+1.", "answer": "3"}'  # a Latin-1 byte in a UTF-8 file
    path.write_bytes(b"\n".join(lines) + b"\n")


def _int_content(path):
    rows = [*GOOD[:4], {"question": [{"role": "user", "content": 5}], "answer": "5"}, *GOOD[4:]]
    _jsonl(path, rows)


def _mixed_extra_column(path):
    rows = [{**r, "level": i} for i, r in enumerate(GOOD)]  # a number, then a string in row 3
    rows[3]["level"] = "hard"
    _jsonl(path, rows)


def _mixed_nested_column(path):
    rows = [{**r, "tags": [i, i + 1]} for i, r in enumerate(GOOD)]  # lists of numbers, then of strings in row 4
    rows[4]["tags"] = ["x", "y"]
    _jsonl(path, rows)


def _ragged_csv(path):
    lines = ["question,answer,level", *(f"Compute {i}+1.,{i + 1},{i}" for i in range(6))]
    lines[3] = "Compute 2+1.,3,2,extra"  # a field too many (pandas refuses the file)
    lines[5] = "Compute 4+1."  # fields missing (pandas would fill them with NaN: an answer "nan")
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(
    "make, suffix, error, skipped",
    [
        # column 30: the cut string "ans starts after the 29 characters {"question": "Compute 7+1.",
        (_truncated_last_line, "jsonl", r"row 6: line 7 is not valid JSON at column 30 \(Unterminated string", 1),
        (_invalid_utf8, "jsonl", r"row 2: line 3 is not valid UTF-8 \(byte 0xff at column 23\)", 1),
        (_int_content, "jsonl", r"row 4: column 'question' message 0: content must be a string, got int", 1),
        (_mixed_extra_column, "jsonl", r"row 3: column 'level' is a string here but a number in row 0", 1),
        (_mixed_nested_column, "jsonl", r"row 4: column 'tags' does not match the type of the rows before it", 1),
        (_ragged_csv, "csv", r"row 2: line 4 has 4 fields, the header 3", 2),
    ],
)
def test_data_faults_fail_in_one_line_or_are_skipped(tmp_path, make, suffix, error, skipped):
    path = tmp_path / f"d.{suffix}"
    make(path)
    cfg = DataConfig(path=str(path), prompt_column="question", solution_column="answer", thinking="off")
    with pytest.raises(ConfigError, match=f"data \\(train split\\) {error}.*; fix the row or set data.on_bad_rows"):
        load_splits(cfg)
    report = RowReport()
    train, _ = load_splits(dataclasses.replace(cfg, on_bad_rows="skip"), report)
    assert report.skipped == skipped and len(train) == report.total - skipped
    assert all(isinstance(s, str) and s for s in train["solution"])  # what is left is clean
    assert report.reasons[0].startswith("train row ")
