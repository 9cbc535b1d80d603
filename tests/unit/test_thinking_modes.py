"""Reasoning-mode data: the system mode line per style, the per-row `thinking` column, and the enable_thinking
alternative (template flag per row for SFT/eval, one global flag for GRPO)."""

import pytest
from datasets import Dataset

from rlkd.config import ConfigError, DataConfig, build_grpo_config, parse_config
from rlkd.data.datasets import assign_modes, chat_template_kwargs, format_dataset

ROWS = [{"prompt": f"{i}+1=", "solution": str(i + 1)} for i in range(8)]


def _data(**kw) -> DataConfig:
    return DataConfig(generator="arithmetic", **kw)


@pytest.mark.parametrize(
    "kw, system, thinking",
    [
        # the Llama-Nemotron toggle in the system message
        ({"thinking": "on"}, "detailed thinking on", True),
        ({"thinking": "off"}, "detailed thinking off", False),
        # Qwen3 / later Nemotron soft switches
        ({"thinking": "on", "thinking_style": "slash"}, "/think", True),
        ({"thinking": "off", "thinking_style": "slash"}, "/no_think", False),
        # a system prompt comes first and the mode line after it, so rewards still find the marker
        ({"thinking": "off", "system_prompt": "Be brief."}, "Be brief.\ndetailed thinking off", False),
        # enable_thinking: no mode line at all (the flag travels as a template argument)
        ({"thinking": "on", "thinking_style": "enable_thinking"}, None, True),
        # ... but a system prompt is still written
        ({"thinking": "off", "thinking_style": "enable_thinking", "system_prompt": "Hi."}, "Hi.", False),
        # no modes: no system message and no thinking column
        ({"thinking": "none"}, None, None),
    ],
)
def test_mode_formatting(kw, system, thinking):
    cfg = _data(**kw)
    row = format_dataset(Dataset.from_list(ROWS), cfg)[0]
    first = row["prompt"][0]
    if system is None:
        assert first == {"role": "user", "content": "0+1="}
    else:
        assert first == {"role": "system", "content": system}
        assert row["prompt"][1] == {"role": "user", "content": "0+1="}
    assert row.get("thinking") == thinking
    expected_kwargs = {"enable_thinking": thinking} if cfg.thinking_style == "enable_thinking" else None
    assert row.get("chat_template_kwargs") == expected_kwargs


@pytest.mark.parametrize(
    "n, ratio, n_on",
    [
        (8, 0.5, 4),  # half and half
        (8, 0.25, 2),  # round(ratio * n) rows are on
        (8, 1.0, 8),  # the ratio bounds are allowed
        (7, 0.5, 4),  # round half to even: 3.5 → 4
    ],
)
def test_mixed_modes_follow_the_ratio(n, ratio, n_on):
    modes = assign_modes(n, "mixed", ratio, seed=0)
    assert sum(modes) == n_on and len(modes) == n


def test_mixed_rows_carry_the_mode_their_system_line_states():
    rows = format_dataset(Dataset.from_list(ROWS), _data(thinking="mixed"))
    for row in rows:
        assert row["prompt"][0]["content"] == ("detailed thinking on" if row["thinking"] else "detailed thinking off")
    assert 0 < sum(rows["thinking"]) < len(rows)  # both modes present in one dataset


# A Qwen3-style template fragment: with enable_thinking false it pre-fills an empty think block.
QWEN3_LIKE = (
    "{%- for m in messages -%}{{ '<|' + m['role'] + '|>' + m['content'] + '<|end|>' }}{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<|assistant|>' }}"
    "{%- if enable_thinking is defined and enable_thinking is false -%}{{ '<think>\n\n</think>\n\n' }}{%- endif -%}"
    "{%- endif -%}"
)


def test_enable_thinking_rows_render_with_their_own_flag():
    from rlkd.demo.tiny import build_tokenizer

    tok = build_tokenizer()
    tok.chat_template = QWEN3_LIKE
    cfg = _data(thinking="mixed", thinking_style="enable_thinking")
    rows = format_dataset(Dataset.from_list(ROWS), cfg)
    for row in rows:
        kwargs = chat_template_kwargs(cfg, row["thinking"])
        text = tok.apply_chat_template(row["prompt"], tokenize=False, add_generation_prompt=True, **kwargs)
        assert text.endswith("<|assistant|>") == row["thinking"]  # off rows get the empty think block


def _run(data: dict, grpo: dict | None = None):
    return parse_config(
        {
            "model": {"name_or_path": "m"},
            "data": {"generator": "arithmetic", **data},
            "rewards": [{"name": "accuracy"}],
            "wandb": {"mode": "disabled"},
            "grpo": {"output_dir": "/tmp/x", **(grpo or {})},
        }
    )


@pytest.mark.parametrize("thinking, flag", [("on", True), ("off", False)])
def test_grpo_gets_one_global_enable_thinking_flag(thinking, flag):
    args = build_grpo_config(_run({"thinking": thinking, "thinking_style": "enable_thinking"}))
    assert args.chat_template_kwargs == {"enable_thinking": flag}


@pytest.mark.parametrize(
    "data, grpo, match",
    [
        # TRL renders every GRPO prompt with the same template kwargs: mixed modes cannot be expressed
        ({"thinking": "mixed", "thinking_style": "enable_thinking"}, None, "one mode for a whole GRPO run"),
        # a grpo.chat_template_kwargs that says the opposite of data.thinking
        (
            {"thinking": "on", "thinking_style": "enable_thinking"},
            {"chat_template_kwargs": {"enable_thinking": False}},
            "contradicts data.thinking",
        ),
    ],
)
def test_enable_thinking_conflicts_are_config_errors(data, grpo, match):
    with pytest.raises(ConfigError, match=match):
        build_grpo_config(_run(data, grpo))


def test_other_styles_leave_the_template_alone():
    assert build_grpo_config(_run({"thinking": "mixed"})).chat_template_kwargs in (None, {})
