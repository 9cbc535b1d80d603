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
