"""The student's chat template and think tags, checked once against the run's rewards before anything trains.

Two silent failures this catches (both looked like a model that never learns the format):
- a template that opens `<think>` itself after the generation prompt (DeepSeek-R1, some Qwen3 variants): the
  completions start inside the think block, so a format reward that does not know it scores every thinking-on
  sample 0. The template is rendered on real train prompts, one per reasoning mode; `format`'s
  `template_prefills_think` is then set (when unset) or checked (when it says otherwise), and a template that
  opens `<think>` for thinking-off prompts too is an error (those completions can never be tag-free).
- think tags registered as *special* tokens: TRL decodes completions with skip_special_tokens=True, so the tags
  vanish before any reward sees them.

    cfg = check_chat_template(cfg, tokenizer, train_ds)   # the config the rewards are built from
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from rewards.text import THINK_CLOSE, THINK_OPEN, prefills_think
from rlkd.config import RunConfig
from rlkd.errors import ConfigError

logger = logging.getLogger(__name__)

PREFILL_ARG = "template_prefills_think"
_FORMAT_REWARDS = ("format",)


def vanishing_tags(tokenizer) -> list[str]:
    """Think tags that do not survive encode → decode with skip_special_tokens=True (as TRL decodes)."""
    text = f"{THINK_OPEN}\nreasoning\n{THINK_CLOSE}\nanswer"
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    decoded = tokenizer.decode(ids, skip_special_tokens=True)
    return [tag for tag in (THINK_OPEN, THINK_CLOSE) if tag not in decoded]


def prefilled_modes(tokenizer, rows) -> dict[bool, bool]:
    """mode → whether the template opens <think> after the generation prompt, rendered on the first train row of
    each mode (a row without a mode counts as thinking on, as the rewards read it)."""
    from rlkd.model import render_prompts

    columns = rows.column_names
    thinking = rows["thinking"] if "thinking" in columns else [None] * len(rows)
    first: dict[bool, int] = {}
    for i, mode in enumerate(thinking):
        first.setdefault(True if mode is None else bool(mode), i)
        if len(first) == 2:
            break
    seen = {}
    for mode, i in first.items():
        row = rows[i]
        kwargs = row.get("chat_template_kwargs") if "chat_template_kwargs" in columns else None
        seen[mode] = prefills_think(render_prompts(tokenizer, [row["prompt"]], [kwargs or {}])[0])
    return seen


def check_chat_template(cfg: RunConfig, tokenizer, train_ds) -> RunConfig:
    """The run config with `format`'s template_prefills_think set from the template; ConfigError when the template
    or the tokenizer cannot work with the run's reasoning modes."""
    modes = prefilled_modes(tokenizer, train_ds)
    lost = vanishing_tags(tokenizer)
    if lost and True in modes:
        raise ConfigError(
            f"model.name_or_path '{cfg.model.name_or_path}': {' and '.join(lost)} are special tokens of its "
            "tokenizer, so decoding with skip_special_tokens=True (as TRL does) removes them before any reward sees "
            'them and every thinking-on sample scores 0; mark them "special": false in its tokenizer.json '
            "(added_tokens)"
        )
    specs = [(i, s) for i, s in enumerate(cfg.rewards) if s.name in _FORMAT_REWARDS]
    if not specs:
        return cfg
    if modes.get(False):
        raise ConfigError(
            f"model.name_or_path '{cfg.model.name_or_path}': its chat template opens {THINK_OPEN} after the "
            "generation prompt for thinking-off prompts too, so thinking-off completions start inside a think block "
            "and the format reward can never accept them; use a template that does not prefill it when thinking is "
            "off, or set data.thinking: on"
        )
    prefills = modes.get(True, False)
    rewards = list(cfg.rewards)
    for i, spec in specs:
        given: Any = spec.args.get(PREFILL_ARG)
        if given is None:
            if prefills:
                logger.info(
                    "the chat template opens %s after the generation prompt: rewards[%d] (%s) scores with %s: true",
                    THINK_OPEN,
                    i,
                    spec.name,
                    PREFILL_ARG,
                )
                rewards[i] = dataclasses.replace(spec, args={**spec.args, PREFILL_ARG: True})
        elif bool(given) != prefills:
            does = "opens" if prefills else "does not open"
            raise ConfigError(
                f"rewards[{i}].args.{PREFILL_ARG} is {given} but the chat template of '{cfg.model.name_or_path}' "
                f"{does} {THINK_OPEN} after the generation prompt; remove the setting (rlkd detects it) or set it to "
                f"{str(prefills).lower()}"
            )
    return dataclasses.replace(cfg, rewards=rewards)
