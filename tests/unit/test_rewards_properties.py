"""Property tests: whatever a policy writes, every reward returns a float in [0, 1] or None, never raises, and the
accuracy reward answers within its time limit."""

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rewards import format_reward, make_accuracy_reward
from rewards.judge import _render, parse_verdict

LIMIT = 2.0
SLACK = 1.5
RESTART = 15.0  # a killed worker's replacement starts (imports sympy) before the rest of its group is scored

# Random text finds few parser paths; pieces of LaTeX and think tags find many more.
PIECES = [
    r"\boxed{",
    "}",
    "{",
    r"\frac",
    r"\dfrac",
    "^",
    "_",
    "9",
    "0",
    "x",
    "$",
    "<think>",
    "</think>",
    " ",
    "\n",
    r"\sqrt",
    "(",
    ")",
    "[",
    "]",
    ",",
    r"\{",
    r"\}",
    "=",
    "-",
    "+",
    ".",
    "\\",
    "a",
    r"\infty",
    r"\cup",
    r"\pi",
    r"\text{",
    "%",
    "/no_think",
    "detailed thinking off",
]
latexish = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)
any_text = st.one_of(st.text(max_size=200), latexish)
modes = st.one_of(st.none(), st.booleans())
PROPS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def accuracy():
    reward = make_accuracy_reward(timeout=LIMIT, workers=2)
    yield reward
    reward.verifier.close()


def _in_range(score) -> bool:
    return score is None or (isinstance(score, float) and 0.0 <= score <= 1.0)


@PROPS
@given(completion=any_text, solution=any_text, thinking=modes)
def test_accuracy_any_string(accuracy, completion, solution, thinking):
    stalls = accuracy.verifier.pool.stalls
    start = time.monotonic()
    scores = accuracy([completion], solution=[solution], thinking=[thinking])
    elapsed = time.monotonic() - start
    assert len(scores) == 1 and _in_range(scores[0])
    assert elapsed < LIMIT + SLACK + (RESTART if accuracy.verifier.pool.stalls > stalls else 0.0)


@PROPS
@given(completion=any_text, prompt=any_text, thinking=modes)
def test_format_any_string(completion, prompt, thinking):
    scores = format_reward([completion], prompts=[prompt], thinking=[thinking])
    assert scores in ([0.0], [1.0])


@PROPS
@given(reply=st.one_of(st.none(), any_text))
def test_judge_verdict_any_reply(reply):
    assert parse_verdict(reply) in (None, 0.0, 1.0)


@PROPS
@given(template=any_text, question=any_text, solution=any_text, answer=any_text)
def test_judge_template_any_values(template, question, solution, answer):
    rendered = _render(template + "{answer}{solution}", question, solution, answer)
    assert rendered.endswith(answer.strip() + solution)  # values are inserted verbatim, once


GOLDS = [r"$\frac{3}{4}$", r"$2\sqrt{3}$", r"$x^2 - 5x + 6$", r"$[1, 3)$", r"$\{1, 2, 5\}$", "42", r"$\pi$", "x"]
answers = st.lists(st.sampled_from([*PIECES, "3", "4", "/", "2", r"\frac{3}{4}", r"\sqrt{12}"]), max_size=30)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(gold=st.one_of(st.sampled_from(GOLDS), latexish), body=answers, boxed=st.booleans())
def test_verdicts_equal_trl_on_any_answer_only_completion(accuracy, gold, body, boxed):
    # rlkd parses in worker processes with two-stage (SLL, then LL) ANTLR prediction and caches parses and
    # verdicts; none of it may change a verdict against TRL's in-process, uncached math-verify.
    from trl.rewards import accuracy_reward as trl_accuracy

    text = "".join(body)
    text = rf"The answer is $\boxed{{{text}}}$." if boxed else text
    expected = trl_accuracy([[{"role": "assistant", "content": text}]], [gold])
    assert accuracy([text], solution=[gold], thinking=[False]) == expected
