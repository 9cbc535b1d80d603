"""format_reward: thinking tags that match the reasoning toggle, every violation pinned."""

import pytest

from rewards import format_reward, make_format_reward

ON, OFF = [True], [False]


@pytest.mark.parametrize(
    "text, thinking, expected",
    [
        ("<think>\nadd 2 and 3\n</think>\n5", ON, 1.0),  # well-formed reasoning then an answer
        ("  \n<think>r</think>5", ON, 1.0),  # leading whitespace before the block is allowed
        ("5", ON, 0.0),  # thinking on but no reasoning block
        ("<think>r</think>", ON, 0.0),  # no answer after the block
        ("<think>r</think>  \n", ON, 0.0),  # a whitespace-only answer is no answer
        ("<think> \n </think>5", ON, 0.0),  # empty reasoning
        ("<think>r", ON, 0.0),  # the block is never closed
        ("x<think>r</think>5", ON, 0.0),  # the block is not at the start
        ("<think>a</think><think>b</think>5", ON, 0.0),  # two blocks
        ("<think>a<think>b</think>5", ON, 0.0),  # a nested/extra opening tag
        ("<think>r</think>5</think>", ON, 0.0),  # a stray closing tag in the answer
        ("r</think>5", ON, 0.0),  # no opening tag (and no prefill)
        ("5", OFF, 1.0),  # thinking off: a bare answer
        ("<think>r</think>5", OFF, 0.0),  # thinking off must not reason in tags
        ("<think></think>5", OFF, 0.0),  # an empty block is off-format unless allowed (see below)
        ("5 </think>", OFF, 0.0),  # a stray tag anywhere
        ("   ", OFF, 0.0),  # no answer
    ],
)
def test_format_rules(text, thinking, expected):
    assert format_reward([text], thinking=thinking) == [expected]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("<think></think>5", 1.0),  # Qwen3-style empty block in thinking-off mode
        ("<think>\n\n</think>\n\n5", 1.0),  # with the template's whitespace
        ("<think>x</think>5", 0.0),  # but it must be empty
        ("<think></think>", 0.0),  # and an answer must follow
        ("<think>5", 0.0),  # an unclosed block is not an empty block
        ("5", 1.0),  # no block at all is still fine
    ],
)
def test_allow_empty_think_in_off_mode(text, expected):
    assert make_format_reward(allow_empty_think=True)([text], thinking=OFF) == [expected]


@pytest.mark.parametrize(
    "prompt, completion, expected",
    [
        ("<|assistant|><think>\n", "reasoning</think>5", 1.0),  # TRL's think_format_reward scores this 0
        ("<|assistant|><think>\n", "<think>r</think>5", 0.0),  # a second <think> after the prefill
        ("<|assistant|>", "reasoning</think>5", 0.0),  # no prefill: the opening tag is missing
    ],
)
def test_prefilled_prompt(prompt, completion, expected):
    assert format_reward([completion], prompts=[prompt]) == [expected]


def test_template_prefill_option_and_conversational_completions():
    prompts = [[{"role": "system", "content": "detailed thinking on"}, {"role": "user", "content": "q"}]] * 2
    completions = [[{"role": "assistant", "content": "r</think>5"}], [{"role": "assistant", "content": "5"}]]
    # A DeepSeek-R1/Qwen3 thinking template opens <think> itself; the messages do not show it.
    assert make_format_reward(template_prefills_think=True)(completions, prompts=prompts) == [1.0, 0.0]
    assert format_reward(completions, prompts=prompts) == [0.0, 0.0]


def test_mode_per_sample_from_system_prompts():
    prompts = [
        [{"role": "system", "content": "detailed thinking on"}, {"role": "user", "content": "q"}],
        [{"role": "system", "content": "detailed thinking off"}, {"role": "user", "content": "q"}],
        [{"role": "system", "content": "/no_think"}, {"role": "user", "content": "q"}],
    ]
    texts = ["<think>r</think>5", "5", "<think>r</think>5"]
    assert format_reward(texts, prompts=prompts) == [1.0, 1.0, 0.0]
