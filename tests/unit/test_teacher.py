"""The symbolic teacher: exact traces on hand-worked problems, and every trace scored correct and well-formed by
the very rewards GRPO trains with, in both reasoning modes."""

from pathlib import Path

import pytest
import yaml

from rewards import accuracy_reward, format_reward
from rlkd.demo.arithmetic import generate
from rlkd.demo.teacher import parse_question, respond


@pytest.mark.parametrize(
    "question, thinking, expected",
    [
        # carry out of the units column, answer digits accumulated right to left (",5" then ",85")
        ("47+38", True, "<think>7+8=15,5\n4+3+1=8,85\n</think>\\boxed{85}"),
        # the top column keeps its carry digit: 12 then 5 gives 125
        ("57+68", True, "<think>7+8=15,5\n5+6+1=12,125\n</think>\\boxed{125}"),
        # operands of different lengths are zero-padded column by column
        ("5+38", True, "<think>5+8=13,3\n0+3+1=4,43\n</think>\\boxed{43}"),
        # a borrow: 7-8 = -1 → digit 9, next column subtracts it; the leading zero is dropped from the answer
        ("47-38", True, "<think>7-8=-1,9\n4-3-1=0,09\n</think>\\boxed{9}"),
        # a negative difference is rewritten as -(b-a) first
        ("38-47", True, "<think>-(47-38)\n7-8=-1,9\n4-3-1=0,09\n</think>\\boxed{-9}"),
        # one partial product per multiplier digit, then their sum: 47*8=376, 47*30=1410, 1786
        ("47*38", True, "<think>47*8=376\n47*30=1410\n376+1410=1786\n</think>\\boxed{1786}"),
        # a one-digit multiplier needs no sum line
        ("3*7", True, "<think>3*7=21\n</think>\\boxed{21}"),
        # thinking off: the bare boxed answer, no tags
        ("47+38", False, "\\boxed{85}"),
        ("38-47", False, "\\boxed{-9}"),
    ],
)
def test_traces(question, thinking, expected):
    assert respond(question, thinking) == expected


@pytest.mark.parametrize("thinking", [True, False])
def test_traces_score_full_marks_with_the_training_rewards(thinking):
    # 1–3 digit add/sub/mul, both modes: the teacher must be right by math-verify and well-formed by the format
    # reward, or SFT would teach the student wrong answers or a format GRPO then penalises.
    rows = generate(90, min_digits=1, max_digits=3, seed=3)
    completions = [respond(r["question"], thinking) for r in rows]
    solutions = [r["solution"] for r in rows]
    modes = [thinking] * len(rows)
    assert accuracy_reward(completions, solution=solutions, thinking=modes) == [1.0] * len(rows)
    assert format_reward(completions, thinking=modes) == [1.0] * len(rows)


def test_tiny_config_traces_fit_its_completion_budget():
    # The tiny student writes one token per character (the think tags are one token each): every thinking-on trace
    # for the tiny config's problems, end-of-turn token included, must fit generation.max_completion_length, or
    # SFT would teach answers that GRPO and eval then cut off.
    raw = yaml.safe_load((Path(__file__).resolve().parents[2] / "configs" / "tiny-cpu.yaml").read_text())
    args = {k: v for k, v in raw["data"]["generator_args"].items() if k in ("min_digits", "max_digits", "ops")}
    budget = raw["generation"]["max_completion_length"]
    for row in generate(2000, seed=4, **args):
        trace = respond(row["question"], True)
        tokens = len(trace) - len("<think>") - len("</think>") + 2 + 1
        assert tokens <= budget, (row["question"], tokens)


@pytest.mark.parametrize("question", ["1.5+2", "-3+4", "2/3", "", "3+"])  # outside what the teacher knows
def test_unreadable_questions_say_what_is_expected(question):
    with pytest.raises(ValueError, match="expected e.g."):
        parse_question(question)
