"""The arithmetic generator's splits: held out, spread over difficulty, and prompts from the template."""

from collections import Counter

import pytest

from rlkd.demo.arithmetic import generate, generate_splits


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


def test_a_large_eval_split_leaves_every_digit_count_in_train():
    # 200 one-digit add/sub questions exist: eval takes at most a third of them, two-digit ones fill the rest
    splits = generate_splits(2000, 512, seed=0, ops=["+", "-"], template="{question}=")
    digits = Counter(r["digits"] for r in splits["eval"])
    assert digits == {1: 200 // 3, 2: 512 - 200 // 3}
    assert Counter(r["digits"] for r in splits["train"])[1] >= 100  # the rest of the one-digit questions train
    assert not {r["question"] for r in splits["train"]} & {r["question"] for r in splits["eval"]}
    # the cap is a share of what exists, not of what the stream happened to draw: eval still ignores num_train
    assert (
        generate_splits(64, 512, seed=0, ops=["+", "-"])["eval"]
        == generate_splits(3000, 512, seed=0, ops=["+", "-"])["eval"]
    )


def test_eval_does_not_depend_on_the_train_size():
    # Growing the GRPO train split must not move the held-out set (nor let SFT/GRPO data leak into it)
    small, large = generate_splits(64, 40, seed=0), generate_splits(1000, 40, seed=0)
    assert small["eval"] == large["eval"]
    assert len(large["train"]) == 1000 and len({r["question"] for r in large["train"]}) == 1000


def test_template_sets_the_prompt():
    (row,) = generate(1, seed=0, template="{question}=")
    assert row["prompt"] == row["question"] + "="
    (row,) = generate(1, seed=0)  # the default names the answer format for real models
    assert row["prompt"] == f"Compute {row['question']}. Put the answer in \\boxed{{}}."
