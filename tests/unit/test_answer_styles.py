"""Answers as users write them: `accuracy`'s answer styles, checked against reasoning-gym's own scorer.

The inputs that broke it (issue 13): a bare `42`, `42.0`, `1,692` or `<think>…</think>42` scored 0 from `accuracy`
(as from TRL's), and a gold in scientific notation (`1.7574418454559584e-22`, reasoning-gym's power_function) was
read by math-verify as 1.757…, so the true answer scored 0 and a wrong one 1.0.

reasoning-gym's `score_answer` is the outside reference: for chain_sum and products it compares numbers by value
after stripping commas ("tolerate sign, leading zeros and trailing decimals"). Its answers come out of
`<answer>` tags; ours out of the completion's final answer, so each answer is tried both ways.
"""

import pytest

reasoning_gym = pytest.importorskip("reasoning_gym")

from rewards import get_reward  # noqa: E402
from rewards.answers import answer_number, parse_number  # noqa: E402


@pytest.fixture(scope="module")
def by_style():
    rewards = {
        s: get_reward("accuracy", answer=s, batch_timeout=None, workers=1) for s in ("latex", "last_number", "any")
    }
    yield rewards
    for r in rewards.values():
        r.close()


def _variants(gold: str) -> list[str]:
    """How people write this answer, and near misses (the reference decides which are right)."""
    value = int(gold)
    grouped = f"{value:,}"
    return [
        gold,  # bare
        f"{gold}.0",  # trailing .0
        f"+{gold}" if value >= 0 else gold,  # explicit sign
        f"0{gold}" if value >= 0 else gold,  # a leading zero
        grouped,  # thousands separators: 1,692
        f"{grouped}.00",
        str(value + 1),  # off by one
        str(-value) if value else "1",  # the wrong sign
        f"{gold}0",  # a digit too many
    ]


@pytest.mark.parametrize("task", ["chain_sum", "products"])
def test_last_number_agrees_with_reasoning_gym(task, by_style):
    dataset = reasoning_gym.create_dataset(task, size=12, seed=3, min_digits=2, max_digits=4)
    completions, golds, modes, reference = [], [], [], []
    for entry in dataset:
        for answer in _variants(entry["answer"]):
            truth = dataset.score_answer(answer, entry) == 1.0  # reasoning-gym's verdict on the bare answer
            for completion, thinking in (
                (answer, False),  # thinking off: the whole completion is the answer
                (f"<think>\nadding up\n</think>\n{answer}", True),  # the answer after the reasoning
                (f"<think>\nadding up\n</think>\n<answer>{answer}</answer>", True),  # reasoning-gym's own format
                (f"The result is {answer}.", False),  # a sentence that ends with the number
            ):
                completions.append(completion)
                golds.append(entry["answer"])
                modes.append(thinking)
                reference.append(1.0 if truth else 0.0)
    got = by_style["last_number"](completions, solution=golds, thinking=modes)
    mismatches = [(c, g, r, s) for c, g, r, s in zip(completions, golds, reference, got) if r != s]
    assert mismatches == []
    assert 0 < sum(reference) < len(reference)  # both right and wrong answers were tried
    # `any` judges plain answers the same way
    assert by_style["any"](completions, solution=golds, thinking=modes) == got
    # the default style (math-verify's LaTeX extraction, as TRL) gives 0 to bare numbers: why the option exists
    bare = [c for c, m in zip(completions, modes) if not m and not c.startswith("The")]
    assert set(by_style["latex"](bare, solution=golds[: len(bare)], thinking=[False] * len(bare))) == {0.0}


def test_scientific_notation_golds_are_never_misread(by_style):
    dataset = reasoning_gym.create_dataset("power_function", size=40, seed=1)
    entry = next(e for e in dataset if "e-" in e["answer"])  # e.g. 1.7574418454559584e-22
    gold = entry["answer"]
    mantissa = gold.split("e")[0]  # what math-verify reads the gold as: a wrong answer
    exact_other_spelling = format(parse_number(gold), "f")  # 0.000…00017574418454559584, the same number
    answers = [gold, exact_other_spelling, mantissa, f"\\boxed{{{gold}}}"]
    reference = [1.0 if dataset.score_answer(a, entry) == 1.0 else 0.0 for a in answers[:3]] + [1.0]
    assert reference == [1.0, 1.0, 0.0, 1.0]
    n = len(answers)
    assert by_style["last_number"](answers, solution=[gold] * n, thinking=[False] * n) == reference
    assert by_style["any"](answers, solution=[gold] * n, thinking=[False] * n) == reference
    # latex cannot read this gold faithfully: None (skipped), never 1.0 for the mantissa
    assert by_style["latex"](answers, solution=[gold] * n, thinking=[False] * n) == [None] * n


@pytest.mark.parametrize(
    "completion, gold, thinking, expected",
    [
        ("<think>\n40+2\n</think>\n42", "42", True, 1.0),  # the answer after </think>
        ("<think>\nso 42\n", "42", True, 0.0),  # thinking on, the reasoning never ended: no answer
        ("\\boxed{42}. Check: 42+1=43", "42", False, 1.0),  # a boxed answer wins over numbers after it
        ("x = -5", "-5", False, 1.0),  # a sign after an equals sign
        ("3-5", "-5", False, 0.0),  # "3-5" is the numbers 3 and 5, not -5
        ("\u22127", "-7", False, 1.0),  # a typographic minus
        ("1,2,3", "123", False, 0.0),  # commas that do not group thousands are a list, not 123
        ("42", "x^2", False, None),  # a gold that is not a number: this style cannot judge it
        ("no number here", "42", False, 0.0),
    ],
)
def test_last_number_cases(completion, gold, thinking, expected, by_style):
    assert by_style["last_number"]([completion], solution=[gold], thinking=[thinking]) == [expected]


def test_any_sends_latex_and_expressions_to_math_verify(by_style):
    # \frac{84}{2} is 42 only to math-verify; a non-numeric gold is math-verify's too
    got = by_style["any"](
        ["\\boxed{\\frac{84}{2}}", "The answer is $x^2$", "42"], solution=["42", "$x^2$", "42"], thinking=[False] * 3
    )
    assert got == [1.0, 1.0, 1.0]


def test_rel_tol():
    reward = get_reward("accuracy", answer="last_number", rel_tol=1e-3, batch_timeout=None)
    # 3.1416 vs 3.14159: |diff| = 0.00001 <= 1e-3 * 3.1416; 3.2 is 1.9% off
    assert reward(["3.1416", "3.2"], solution=["3.14159", "3.14159"], thinking=[False, False]) == [1.0, 0.0]
    assert answer_number("<answer>12</answer> then 13") == 12  # reasoning-gym's tags are the answer


@pytest.mark.parametrize("args", [{"answer": "boxed"}, {"rel_tol": -1}])
def test_bad_args_fail_when_the_config_loads(args):
    from rewards import RewardError

    with pytest.raises(RewardError, match="accuracy: "):
        get_reward("accuracy", **args)
