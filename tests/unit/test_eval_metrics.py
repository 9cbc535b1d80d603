"""Eval metrics as pure functions: the unbiased pass@k estimator on hand-computed values, and one mode's summary
from fixed completions scored by the real rewards."""

import pytest

from rewards.accuracy import make_accuracy_reward
from rewards.format import make_format_reward
from rlkd.commands.eval import format_table, mode_summary, model_labels, pass_at_k, score_mode


@pytest.mark.parametrize(
    "n, c, k, expected",
    [
        (8, 0, 1, 0.0),  # nothing correct: no subset passes
        (8, 8, 8, 1.0),  # everything correct
        (8, 2, 1, 0.25),  # pass@1 is the plain fraction correct, c/n
        (4, 1, 2, 0.5),  # 1 − C(3,2)/C(4,2) = 1 − 3/6
        (5, 2, 3, 0.9),  # 1 − C(3,3)/C(5,3) = 1 − 1/10
        (10, 3, 5, 1 - 21 / 252),  # 1 − C(7,5)/C(10,5)
        (8, 1, 8, 1.0),  # n − c < k: every k-subset holds the correct sample
    ],
)
def test_pass_at_k(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected)


@pytest.mark.parametrize("n, c, k", [(4, 5, 1), (4, 1, 5), (4, 1, 0)])  # c > n, k > n, k < 1 are meaningless
def test_pass_at_k_rejects_impossible_counts(n, c, k):
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)


ON_85 = "<think>7+8=15,5\n4+3+1=8,85\n</think>\\boxed{85}"
ON_84 = "<think>7+8=15,5\n4+3+1=8,84\n</think>\\boxed{84}"


@pytest.fixture(scope="module")
def rewards():
    accuracy = make_accuracy_reward()
    yield accuracy, make_format_reward()
    accuracy.verifier.close()


def test_score_mode_on_fixed_completions(rewards):
    accuracy, fmt = rewards
    greedy = [(ON_85, 20), ("\\boxed{-9}", 5)]  # right; right number but no reasoning block in thinking-on mode
    samples = [[(ON_85, 20), (ON_84, 20)], [("\\boxed{-9}", 5), ("<think>x</think>\\boxed{9}", 8)]]
    out = score_mode(greedy, samples, [[], []], ["85", "-9"], [True, True], accuracy, fmt, ks=[1, 2])
    # greedy: 85 is right; the bare -9 has no </think>, so thinking-on scores it 0 (the reasoning never ended).
    # samples: problem 0 has 1 of 2 right → pass@1 0.5, pass@2 1; problem 1 has 0 of 2 → 0, 0.
    assert out == pytest.approx(
        {
            "accuracy": 0.5,
            "format": 0.5,
            "completion_length": 12.5,
            "num_problems": 2,
            "pass@1": 0.25,
            "pass@2": 0.5,
        }
    )


def test_score_mode_thinking_off(rewards):
    accuracy, fmt = rewards
    greedy = [("\\boxed{-9}", 5), (ON_85, 20)]
    samples = [[("\\boxed{-9}", 5)], [(ON_85, 20)]]
    out = score_mode(greedy, samples, [[], []], ["-9", "85"], [False, False], accuracy, fmt, ks=[1])
    # thinking off: both answers are right (the answer after </think> counts), but a think block breaks the format
    assert out["accuracy"] == 1.0 and out["format"] == 0.5 and out["pass@1"] == 1.0


def test_unjudgeable_problems_are_left_out_not_counted_wrong():
    # problem 1's solution could not be parsed (None verdicts): accuracy and pass@k average over problem 0 only
    out = mode_summary([1.0, None], [1.0, 1.0], [4, 6], [[1.0, 0.0], [None, None]], ks=[1])
    assert out["accuracy"] == 1.0 and out["pass@1"] == 0.5 and out["completion_length"] == 5.0


def test_model_labels_are_short_and_unique():
    # directory names, with a suffix when two models share one (W&B keys and table rows must not collide)
    assert model_labels(["runs/demo/sft", "runs/demo/grpo/", "other/sft"]) == ["sft", "grpo", "sft#2"]


def test_table_has_one_row_per_model_and_mode():
    report = {"models": [{"label": "a", "modes": {"on": {"accuracy": 0.5}, "off": {"accuracy": 0.25}}}]}
    lines = format_table(report).splitlines()
    assert lines[0].split() == ["model", "mode", "accuracy"]
    assert [line.split() for line in lines[1:]] == [["a", "on", "0.500"], ["a", "off", "0.250"]]
