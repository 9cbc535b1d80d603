"""Data that carries its own reasoning modes keeps them: data.thinking only fills rows that have none.

The input that broke it (issue 13): 40 rows whose prompts already carry a "detailed thinking on/off" system message
got a fresh random `thinking` column under data.thinking on or mixed, and 20 of the 40 were scored in the mode their
prompt did not ask for."""

import json

import pytest
from datasets import Dataset

from rewards.text import prompt_mode
from rlkd.config import ConfigError, DataConfig, parse_config
from rlkd.data.datasets import format_dataset, load_splits


def _nemotron_rows(n=40):
    """Rows like a Llama-Nemotron dataset: the mode line is already in each prompt's system message."""
    return [
        {
            "prompt": [
                {"role": "system", "content": f"detailed thinking {'on' if i % 2 == 0 else 'off'}"},
                {"role": "user", "content": f"What is {i}+1?"},
            ],
            "solution": str(i + 1),
        }
        for i in range(n)
    ]


@pytest.mark.parametrize("thinking", ["on", "off", "mixed", "none"])
def test_prompt_modes_survive_every_data_thinking(thinking):
    rows = format_dataset(Dataset.from_list(_nemotron_rows()), DataConfig(path="x.jsonl", thinking=thinking))
    for i, row in enumerate(rows):
        asked = i % 2 == 0
        assert row["thinking"] is asked  # the column agrees with the prompt, row by row
        assert prompt_mode(row["prompt"]) is asked
        assert len(row["prompt"]) == 2  # no second system message stacked on top
    assert sum(rows["thinking"]) == 20  # 20 on, 20 off: none flipped


def test_thinking_column_wins_and_its_mode_is_written_into_the_prompt():
    raw = [
        {"prompt": "2+2?", "solution": "4", "thinking": "off"},  # a string column, as a CSV would store it
        {"prompt": "3+3?", "solution": "6", "thinking": True},
        {
            "prompt": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "1+1?"}],
            "solution": "2",
            "thinking": 0,
        },
    ]
    rows = format_dataset(raw, DataConfig(path="x.jsonl", thinking="on"))  # rows as a JSONL file gives them
    assert rows["thinking"] == [False, True, False]
    assert rows[0]["prompt"][0] == {"role": "system", "content": "detailed thinking off"}
    assert rows[1]["prompt"][0] == {"role": "system", "content": "detailed thinking on"}
    # the row's own system prompt is kept, the mode line appended to it
    assert rows[2]["prompt"][0] == {"role": "system", "content": "Be brief.\ndetailed thinking off"}


def test_data_thinking_fills_only_rows_without_a_mode():
    raw = _nemotron_rows(4) + [{"prompt": f"{i}*2?", "solution": str(2 * i)} for i in range(10)]
    rows = format_dataset(raw, DataConfig(path="x.jsonl", thinking="mixed", thinking_ratio=0.3))
    assert rows["thinking"][:4] == [True, False, True, False]  # their own modes
    filled = rows["thinking"][4:]
    assert sum(filled) == 3  # round(0.3 * 10) of the 10 rows without a mode are on
    for row in rows:
        assert prompt_mode(row["prompt"]) is row["thinking"]


@pytest.mark.parametrize(
    "row, message",
    [
        # the column says on, the prompt's system message says off: which one was meant cannot be guessed
        (
            {
                "prompt": [{"role": "system", "content": "detailed thinking off"}, {"role": "user", "content": "q"}],
                "solution": "1",
                "thinking": True,
            },
            "row 1: its thinking column says on but its prompt asks for thinking off",
        ),
        # a Qwen3 soft switch at the end of the user turn counts as the prompt's mode
        ({"prompt": "q /no_think", "solution": "1", "thinking": "on"}, "row 1: its thinking column says on"),
        # a `thinking` column that holds something else (a reasoning trace) is not silently read as True
        ({"prompt": "q", "solution": "1", "thinking": "Let me add."}, "row 1: column 'thinking' = 'Let me add.'"),
    ],
)
def test_contradictions_name_the_row(row, message):
    raw = [{"prompt": "fine", "solution": "0", "thinking": None}, row]
    with pytest.raises(ConfigError, match=message):
        format_dataset(raw, DataConfig(path="x.jsonl"))


def test_a_jsonl_with_its_own_modes_loads_as_written(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in _nemotron_rows()))
    train, _ = load_splits(DataConfig(path=str(path), thinking="mixed"))
    assert train["thinking"] == [i % 2 == 0 for i in range(40)]


def test_eval_asks_rows_with_their_own_mode_only_in_that_mode(tmp_path):
    from rlkd.commands.eval import eval_rows

    path = tmp_path / "eval.jsonl"
    rows = _nemotron_rows(4) + [{"prompt": "5+5?", "solution": "10"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = parse_config(
        {
            "model": {"name_or_path": "m"},
            "data": {"path": str(path), "eval_path": str(path), "thinking": "on"},
            "rewards": [{"name": "accuracy"}],
            "grpo": {"output_dir": str(tmp_path / "out")},
        }
    )
    by_mode = eval_rows(cfg)
    # data.thinking on lists only "on", but two rows ask for off: they are evaluated in off, not dropped or flipped
    assert sorted(by_mode) == ["off", "on"]
    assert by_mode["on"]["solution"] == ["1", "3", "10"]  # the on rows and the row without a mode
    assert by_mode["off"]["solution"] == ["2", "4"]


def test_enable_thinking_grpo_refuses_rows_of_the_other_mode(tmp_path, tiny_model_dir):
    from transformers import AutoConfig, AutoTokenizer

    from rlkd.data.datasets import load_training_data

    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in _nemotron_rows(4)))
    cfg = parse_config(
        {
            "model": {"name_or_path": str(tiny_model_dir)},
            "data": {"path": str(path), "thinking": "on", "thinking_style": "enable_thinking"},
            "rewards": [{"name": "accuracy"}],
            "grpo": {"output_dir": str(tmp_path / "out")},
        }
    )
    tok, conf = AutoTokenizer.from_pretrained(tiny_model_dir), AutoConfig.from_pretrained(tiny_model_dir)
    with pytest.raises(ConfigError, match="row 1: its own mode is thinking off"):
        load_training_data(cfg, tok, conf)
