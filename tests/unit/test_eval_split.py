"""Held-out data is held out: a split asked of a single file is an error (or a seeded, logged carve-out), eval rows
may come from a source of their own, and train/eval overlap is reported.

The input that broke it (issue 13): `data.eval_split=test` on a 200-row JSONL gave 200 train rows and the same 200
rows as "held-out" eval rows."""

import json
import logging

import pytest
from datasets import Dataset, DatasetDict

from rlkd.config import ConfigError, DataConfig
from rlkd.data.datasets import load_splits
from rlkd.data.rows import RowReport


def _rows(n, start=0):
    return [{"prompt": f"What is {i}+1?", "solution": str(i + 1)} for i in range(start, start + n)]


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def test_a_split_of_a_single_file_is_an_error_that_says_what_to_set(tmp_path):
    cfg = DataConfig(path=_jsonl(tmp_path / "d.jsonl", _rows(200)), eval_split="test")
    with pytest.raises(ConfigError) as e:
        load_splits(cfg)
    message = str(e.value)
    assert "is a single file, which has no splits (its 200 rows would be both" in message
    assert "data.eval_path" in message and "data.eval_fraction" in message


def test_eval_fraction_holds_out_a_seeded_share_and_says_so(tmp_path, caplog):
    path = _jsonl(tmp_path / "d.jsonl", _rows(200))
    with caplog.at_level(logging.INFO, logger="rlkd.data.datasets"):
        train, evals = load_splits(DataConfig(path=path, eval_fraction=0.1))
    assert len(train) == 180 and len(evals) == 20  # round(0.1 * 200) held out
    assert not set(train["solution"]) & set(evals["solution"])  # disjoint
    assert "held out 20 of the 200 rows" in caplog.text and "data.eval_seed 0" in caplog.text
    again, _ = load_splits(DataConfig(path=path, eval_fraction=0.1))
    assert again["solution"] == train["solution"]  # seeded: the same carve-out every time (and in rlkd eval)
    other, _ = load_splits(DataConfig(path=path, eval_fraction=0.1, eval_seed=1))
    assert other["solution"] != train["solution"]


def test_eval_path_and_overlap_report(tmp_path, caplog):
    train_path = _jsonl(tmp_path / "train.jsonl", _rows(50))
    eval_path = _jsonl(tmp_path / "eval.jsonl", _rows(10, start=45))  # 5 of its prompts are train prompts too
    report = RowReport()
    with caplog.at_level(logging.WARNING, logger="rlkd.data.datasets"):
        train, evals = load_splits(DataConfig(path=train_path, eval_path=eval_path), report)
    assert len(train) == 50 and len(evals) == 10
    assert report.eval_overlap == 5 and report.as_dict()["eval_overlap"] == 5
    assert "5 of the 10 eval rows ask a prompt that is also in the train rows" in caplog.text


def test_splits_of_a_dataset_dir(tmp_path):
    DatasetDict({"train": Dataset.from_list(_rows(8)), "test": Dataset.from_list(_rows(3, 100))}).save_to_disk(
        tmp_path / "dd"
    )
    train, evals = load_splits(DataConfig(path=str(tmp_path / "dd"), eval_split="test"))
    assert len(train) == 8 and evals["solution"] == ["101", "102", "103"]
    # eval_path at a dataset with several splits and none named: which one is meant cannot be guessed
    with pytest.raises(ConfigError, match=r"has the splits \['test', 'train'\]: name one with data.eval_split"):
        load_splits(DataConfig(path=str(tmp_path / "dd"), eval_path=str(tmp_path / "dd")))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"eval_fraction": 0.1, "eval_split": "test"}, "carves the eval rows out of the train rows"),
        ({"eval_fraction": 1.0}, r"data.eval_fraction must be in \(0, 1\)"),
    ],
)
def test_eval_settings_that_contradict(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        DataConfig(path="d.jsonl", **kwargs)
