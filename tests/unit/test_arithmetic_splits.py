"""The arithmetic generator's splits: held out, spread over difficulty, and prompts from the template."""

from collections import Counter

import pytest

from rlkd.arithmetic import generate, generate_splits


@pytest.mark.parametrize(
    "kwargs, expected_digits",
    [
        # one-digit questions repeat often in the stream (100 pairs per op); eval still gets its half of them
        ({"num_train": 256, "num_eval": 128, "ops": ["+", "-"]}, {1: 64, 2: 64}),
        # three difficulty levels share the eval split evenly
        ({"num_train": 100, "num_eval": 60, "min_digits": 1, "max_digits": 3}, {1: 20, 2: 20, 3: 20}),
        # when a level runs out of unseen questions (only 100 one-digit sums exist), the others fill its share
        ({"num_train": 256, "num_eval": 128, "ops": ["+"]}, None),
    ],
)
def test_eval_is_held_out_and_spread_over_digit_counts(kwargs, expected_digits):
    splits = generate_splits(seed=0, **kwargs)
    train_q = {r["question"] for r in splits["train"]}
    eval_q = [r["question"] for r in splits["eval"]]
    assert len(splits["train"]) == kwargs["num_train"] and len(eval_q) == kwargs["num_eval"]
    assert not train_q & set(eval_q) and len(set(eval_q)) == len(eval_q)  # held out, no repeats
    if expected_digits is not None:
        assert Counter(r["digits"] for r in splits["eval"]) == expected_digits


def test_train_is_the_first_distinct_questions_of_the_stream():
    # GRPO's training data does not depend on how eval is drawn
    stream = generate(600, seed=0)
    first: list[str] = []
    for row in stream:
        if row["question"] not in first:
            first.append(row["question"])
    assert [r["question"] for r in generate_splits(100, 30, seed=0)["train"]] == first[:100]


def test_template_sets_the_prompt():
    (row,) = generate(1, seed=0, template="{question}=")
    assert row["prompt"] == row["question"] + "="
    (row,) = generate(1, seed=0)  # the default names the answer format for real models
    assert row["prompt"] == f"Compute {row['question']}. Put the answer in \\boxed{{}}."
