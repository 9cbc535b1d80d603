"""The shared text rules every reward reads: completion text, per-sample reasoning mode, prefill, final answer."""

import pytest

from rewards import RewardError
from rewards.text import completion_text, final_answer, final_answers, full_completions, prompt_mode, sample_modes

SYS_ON = [{"role": "system", "content": "detailed thinking on"}, {"role": "user", "content": "1+1?"}]
SYS_OFF = [{"role": "system", "content": "detailed thinking off"}, {"role": "user", "content": "1+1?"}]


@pytest.mark.parametrize(
    "completion, expected",
    [
        ("plain", "plain"),  # standard (non-conversational) completions pass through
        ([{"role": "assistant", "content": "conv"}], "conv"),  # TRL's conversational form
        ([{"role": "assistant", "content": "a"}, {"role": "assistant", "content": "b"}], "ab"),  # multi-message
        ([{"role": "assistant", "content": [{"type": "text", "text": "blk"}]}], "blk"),  # content blocks
        ([{"role": "assistant", "content": None}], ""),  # a tool-call message with no text
    ],
)
def test_completion_text(completion, expected):
    assert completion_text(completion) == expected


@pytest.mark.parametrize(
    "prompt, expected",
    [
        (SYS_ON, True),  # the Llama-Nemotron toggle in the system message
        (SYS_OFF, False),
        ([{"role": "system", "content": "You are helpful.\nDetailed thinking OFF"}], False),  # case, other text
        ([{"role": "system", "content": "/no_think"}, {"role": "user", "content": "q"}], False),  # Qwen3 flags
        ([{"role": "system", "content": "/think"}, {"role": "user", "content": "q"}], True),
        (
            [{"role": "system", "content": "/no_think"}, {"role": "user", "content": "q /think"}],
            True,
        ),  # user's flag is later
        ([{"role": "user", "content": "solve x /no_think"}], False),  # soft switch ending the user turn
        ([{"role": "user", "content": "what does /no_think do? explain"}], None),  # mid-sentence: not a switch
        ([{"role": "system", "content": "detailed thinking on ... detailed thinking off"}], False),  # last wins
        ([{"role": "system", "content": "see </think> tags and src/think/x.py"}], None),  # not markers
        ([{"role": "user", "content": "1+1?"}], None),  # no toggle at all
        ("<|system|>detailed thinking off<|user|>q<|assistant|>", False),  # a plain-text (templated) prompt
        ("q", None),
        (None, None),  # no prompt
    ],
)
def test_prompt_mode(prompt, expected):
    assert prompt_mode(prompt) is expected


@pytest.mark.parametrize(
    "prompts, thinking, expected",
    [
        (None, None, [True, True]),  # nothing says: thinking on (the recipe's default)
        ([SYS_OFF, SYS_ON], None, [False, True]),  # from the system prompts
        ([SYS_OFF, SYS_ON], [True, False], [True, False]),  # the thinking column wins over the prompt
        ([SYS_OFF, SYS_ON], [None, None], [False, True]),  # a missing column value falls back to the prompt
        (None, ["off", "ON"], [False, True]),  # datasets often store strings
        (None, [0, 1], [False, True]),
    ],
)
def test_sample_modes(prompts, thinking, expected):
    assert sample_modes(2, prompts, thinking) == expected


@pytest.mark.parametrize(
    "prompts, thinking, message",
    [
        (None, ["maybe", True], r"thinking\[0\] = .maybe."),  # bool("maybe") would silently be True
        (None, [True], "thinking has 1 values for 2"),  # misaligned column
        ([SYS_ON], None, "prompts has 1 values for 2"),
    ],
)
def test_sample_modes_rejects_bad_columns(prompts, thinking, message):
    with pytest.raises(RewardError, match=message):
        sample_modes(2, prompts, thinking)


@pytest.mark.parametrize(
    "prompt, template_prefills, mode, expected",
    [
        ("<|assistant|><think>\n", False, True, "<think>r</think>a"),  # plain prompt ending in an opened <think>
        ([{"role": "assistant", "content": "<think>"}], False, True, "<think>r</think>a"),  # assistant prefill
        ("<|assistant|><think>x</think>", False, True, "r</think>a"),  # closed again: nothing is open
        ([{"role": "user", "content": "q"}], True, True, "<think>r</think>a"),  # the template opens it (option)
        ([{"role": "user", "content": "q"}], True, False, "r</think>a"),  # ... only for thinking-on samples
        ([{"role": "user", "content": "q"}], False, True, "r</think>a"),  # no prefill anywhere
    ],
)
def test_prefilled_think(prompt, template_prefills, mode, expected):
    assert full_completions(["r</think>a"], [prompt], [mode], template_prefills) == [expected]


@pytest.mark.parametrize(
    "text, thinking, expected",
    [
        ("<think>r</think>\n42", True, "\n42"),  # the answer is after </think>
        ("<think>r \\boxed{42}", True, None),  # reasoning never ended: no answer (boxed inside does not count)
        ("\\boxed{42}", False, "\\boxed{42}"),  # thinking off: the whole text
        ("<think></think>42", False, "42"),  # an (empty) block in off mode: still the text after it
        ("a</think>b</think>c", True, "c"),  # the last </think> ends the reasoning
    ],
)
def test_final_answer(text, thinking, expected):
    assert final_answer(text, thinking) == expected


def test_final_answers_per_mode_and_aligned_solution():
    prompts = [SYS_ON, SYS_OFF]
    assert final_answers(["<think>r</think>4", "4"], ["4", "4"], prompts) == ["4", "4"]
    with pytest.raises(RewardError, match="solution has 1 values for 2 completions"):  # a misaligned column
        final_answers(["a", "b"], ["4"], prompts)
