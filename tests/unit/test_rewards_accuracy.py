"""accuracy_reward: mode-aware math-verify with a hard per-sample limit, agreeing with TRL's verdicts."""

import threading
import time

import pytest

from rewards import make_accuracy_reward
from rewards.mathverify.verify import Verifier

LIMIT = 2.0  # seconds per sample in these tests
SLACK = 1.5  # scheduling on a shared 2-core box; the limit itself is what the tests pin
PATHOLOGICAL = r"\boxed{9^{9^{9^{9}}}}"  # sympy would evaluate a 370-million-digit integer
SYS_ON = [{"role": "system", "content": "detailed thinking on"}, {"role": "user", "content": "q"}]
SYS_OFF = [{"role": "system", "content": "detailed thinking off"}, {"role": "user", "content": "q"}]


@pytest.fixture(scope="module")
def accuracy():
    reward = make_accuracy_reward(timeout=LIMIT, workers=2)
    yield reward
    reward.verifier.close()


@pytest.mark.parametrize(
    "completion, solution, kwargs, expected",
    [
        (r"\boxed{\frac{1}{2}}", r"$\frac{1}{2}$", {"thinking": [False]}, 1.0),  # an answer-only completion
        (r"The answer is $\boxed{0.5}$.", r"$\frac{1}{2}$", {"thinking": [False]}, 1.0),  # equivalent form
        (r"\boxed{3}", r"$\frac{1}{2}$", {"thinking": [False]}, 0.0),  # wrong
        (r"<think>r</think>\boxed{2}", "2", {"thinking": [True]}, 1.0),  # the answer after the reasoning
        (r"<think>r \boxed{2}", "2", {"thinking": [True]}, 0.0),  # reasoning never ended: inside does not count
        (r"<think>\boxed{2}</think>\boxed{3}", "2", {"thinking": [True]}, 0.0),  # only the final answer counts
        (r"\boxed{2}", "2", {"thinking": [True]}, 0.0),  # thinking on without any reasoning block: no answer
        (r"\boxed{2}", "2", {"prompts": [SYS_OFF]}, 1.0),  # mode from the system prompt: off
        (r"\boxed{2}", "2", {"prompts": [SYS_ON]}, 0.0),  # ... on
        (r"\boxed{2}", "2", {"prompts": [SYS_ON], "thinking": [False]}, 1.0),  # the column wins over the prompt
        (r"\boxed{2}", "2", {}, 0.0),  # nothing says: thinking on
        (r"r</think>\boxed{2}", "2", {"prompts": ["<|assistant|><think>\n"]}, 1.0),  # prefilled <think>
        (r"\boxed{2}", "see the proof in the appendix", {"thinking": [False]}, None),  # unparseable gold: skip
        (r"\boxed{2}", None, {"thinking": [False]}, None),  # missing gold: skip
        (r"<think>r", "see the proof", {"thinking": [True]}, None),  # no answer, but the gold decides first
        ("", "2", {"thinking": [False]}, 0.0),  # an empty completion
    ],
)
def test_accuracy_rules(accuracy, completion, solution, kwargs, expected):
    assert accuracy([completion], solution=[solution], **kwargs) == [expected]


def test_conversational_completions(accuracy):
    completions = [[{"role": "assistant", "content": r"<think>r</think>\boxed{4}"}]] * 2
    assert accuracy(completions, solution=["4", "5"], prompts=[SYS_ON, SYS_ON]) == [1.0, 0.0]


# Answer-only completions that TRL's accuracy_reward scores; rlkd must agree exactly (thinking off).
TRL_CASES = [
    (r"$\frac{3}{4}$", r"\boxed{\dfrac{3}{4}}"),
    (r"$\frac{3}{4}$", r"The answer is $\boxed{0.75}$."),
    (r"$\frac{3}{4}$", r"\boxed{\frac{4}{3}}"),
    (r"$2\sqrt{3}$", r"\boxed{\sqrt{12}}"),
    (r"$2\sqrt{3}$", r"\boxed{3\sqrt{2}}"),
    (r"$x^2 - 5x + 6$", r"\boxed{(x-2)(x-3)}"),
    (r"$x^2 - 5x + 6$", r"\boxed{x^2+5x+6}"),
    (r"$[1, 3)$", r"\boxed{[1,3)}"),
    (r"$[1, 3)$", r"\boxed{(1,3)}"),
    (r"$\{1, 2, 5\}$", r"\boxed{\{5,2,1\}}"),
    (r"$\{1, 2, 5\}$", r"\boxed{\{1,2\}}"),
    ("42", "I think it is 42"),  # no boxed answer and no anchor: TRL extracts nothing
    ("42", r"$\boxed{42}$"),
    ("see the proof", r"\boxed{1}"),  # unparseable gold: None from both
]


def test_verdicts_match_trl_on_answer_only_completions(accuracy):
    from trl.rewards import accuracy_reward as trl_accuracy

    solutions = [s for s, _ in TRL_CASES]
    completions = [[{"role": "assistant", "content": c}] for _, c in TRL_CASES]
    expected = trl_accuracy(completions, solutions)
    assert expected.count(None) == 1 and 0.0 in expected and 1.0 in expected  # the table covers all outcomes
    assert accuracy(completions, solution=solutions, thinking=[False] * len(TRL_CASES)) == expected


def test_each_distinct_pair_is_verified_once(accuracy):
    # a GRPO group: 8 completions of one prompt, 3 distinct answers; a second prompt with one answer
    texts = [r"\boxed{2}"] * 5 + [r"\boxed{3}"] * 2 + [r"\boxed{4}"] + [r"\boxed{7}"] * 4
    solutions = ["2"] * 8 + ["7"] * 4
    scores = accuracy(texts, solution=solutions, thinking=[False] * 12)
    assert scores == [1.0] * 5 + [0.0] * 3 + [1.0] * 4
    assert accuracy.verifier.last_batch == {"samples": 12, "golds": 2, "pairs": 4}


def test_pathological_answer_scores_zero_within_the_limit(accuracy):
    accuracy.take_metrics()
    start = time.monotonic()
    assert accuracy([PATHOLOGICAL], solution=["3"], thinking=[False]) == [0.0]
    assert time.monotonic() - start < LIMIT + SLACK
    assert accuracy.take_metrics()["timeouts"] == 1  # counted, for rewards/accuracy/timeouts
    assert accuracy([PATHOLOGICAL, r"\boxed{3}"], solution=["3", "3"], thinking=[False, False]) == [0.0, 1.0]


def test_limit_holds_outside_the_main_thread(accuracy):
    # math-verify's own signal-based timeout does not work here; TRL turns it off and would hang
    result = []
    thread = threading.Thread(target=lambda: result.append(accuracy([PATHOLOGICAL], solution=["3"], thinking=[False])))
    start = time.monotonic()
    thread.start()
    thread.join(timeout=30)
    assert result == [[0.0]] and time.monotonic() - start < LIMIT + SLACK


def test_hard_limit_kills_a_worker_stuck_in_c():
    # Without the in-worker signal limit, only the kill can stop sympy's big-integer power.
    verifier = Verifier(timeout=1.0, workers=1, soft_limit=False)
    try:
        verifier.score(["1"], [r"\boxed{1}"])  # start-up is not part of any sample's limit
        old = verifier.pool.pids
        start = time.monotonic()
        assert verifier.score(["3", "3", "3"], [PATHOLOGICAL, r"\boxed{3}", r"\boxed{4}"]) == [0.0, 1.0, 0.0]
        elapsed = time.monotonic() - start
        assert verifier.pool.stalls == 1 and verifier.pool.pids != old  # killed and replaced
        assert elapsed < 1.0 + 10.0  # the limit, plus a fresh worker's start-up for the rest of the group
        assert verifier.score(["5"], [r"\boxed{5}"]) == [1.0]  # the pool goes on
    finally:
        verifier.close()


def test_a_large_group_is_split_over_the_workers(accuracy):
    # one prompt, 12 distinct answers: split into jobs so both workers share it; verdicts must not mix up
    answers = [rf"\boxed{{{i}}}" for i in range(12)]
    assert accuracy(answers, solution=["7"] * 12, thinking=[False] * 12) == [float(i == 7) for i in range(12)]
    assert accuracy.verifier.last_batch == {"samples": 12, "golds": 1, "pairs": 12}


def test_a_gold_that_overruns_is_unparseable_and_remembered():
    verifier = Verifier(timeout=1.0, workers=2)
    try:
        # ~5 s of LaTeX parsing (math-verify leaves 9^{9^{9^{9}}} unevaluated, so a power will not do)
        slow_gold = "$" + "+".join(rf"\frac{{1}}{{{i + 2}}}x^{{{i}}}" for i in range(200)) + "$"
        answers = [rf"\boxed{{{i}}}" for i in range(12)]  # split into several jobs, each meeting the slow gold
        assert verifier.score([slow_gold] * 12, answers) == [None] * 12
        start = time.monotonic()
        assert verifier.score([slow_gold, "2"], [r"\boxed{1}", r"\boxed{2}"]) == [None, 1.0]
        assert verifier.last_batch["golds"] == 1  # the slow gold is not sent again
        assert time.monotonic() - start < 1.0
    finally:
        verifier.close()
