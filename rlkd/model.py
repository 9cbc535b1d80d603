"""The student: loading it with `from_pretrained` (a local directory or a Hub id), and rendering prompts as it sees
them.

Every stage loads through here, so a path that does not load is the same one-line ConfigError everywhere (train,
validate, eval, passrate), and every stage renders chat prompts the way TRL does (the chat template with the
generation prompt, no extra special tokens), so a length check, a pass-rate estimate and a GRPO step see the same
tokens.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rlkd.config import ModelConfig
from rlkd.errors import ConfigError, first_line


def _looks_local(name: str) -> bool:
    """A Hub id is `name` or `org/name`; anything else (absolute, relative, nested) can only be a local path."""
    return name.startswith(("/", ".", "~")) or name.count("/") > 1


@contextmanager
def _loading(name: str, what: str = "model.name_or_path") -> Iterator[None]:
    """Turn a `from_pretrained` failure into one line naming the setting."""
    if _looks_local(name) and not Path(name).expanduser().is_dir():
        raise ConfigError(
            f"{what}: no model directory at '{name}', so it could not be loaded (build the tiny student with "
            "`rlkd tiny-model DIR`, or give a Hub id)"
        )
    if (Path(name).expanduser() / "adapter_config.json").is_file():  # a LoRA run's output or checkpoint
        raise ConfigError(
            f"{what} '{name}' holds a LoRA adapter, not a model: merge it with `rlkd export {name} --merge` and "
            f"use {Path(name) / 'merged'}"
        )
    try:
        yield
    except (OSError, ValueError) as e:
        raise ConfigError(
            f"{what} '{name}' could not be loaded ({first_line(e)}); give a local model directory (e.g. from "
            "`rlkd tiny-model DIR`) or a Hub id reachable from this machine"
        ) from None


def _hub_kwargs(cfg: ModelConfig) -> dict[str, Any]:
    return {"revision": cfg.revision, "trust_remote_code": cfg.trust_remote_code}


def load_tokenizer(cfg: ModelConfig, what: str = "model.name_or_path"):
    """The tokenizer, with a pad token, checked to have the chat template rlkd's prompts need."""
    from transformers import AutoTokenizer

    with _loading(cfg.name_or_path, what):
        tokenizer = AutoTokenizer.from_pretrained(cfg.name_or_path, **_hub_kwargs(cfg))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if tokenizer.chat_template is None:
        raise ConfigError(
            f"{what} '{cfg.name_or_path}': the tokenizer has no chat template; rlkd prompts are chat messages "
            "(system message = reasoning mode)"
        )
    return tokenizer


def load_model_config(cfg: ModelConfig, what: str = "model.name_or_path"):
    """The model's config only (no weights): what checks need, in a second even for a 70B student."""
    from transformers import AutoConfig

    with _loading(cfg.name_or_path, what):
        return AutoConfig.from_pretrained(cfg.name_or_path, **_hub_kwargs(cfg))


def load_policy(cfg: ModelConfig, what: str = "model.name_or_path"):
    """Return (model, tokenizer). A path that is neither a local model nor a reachable Hub id is a ConfigError."""
    import torch
    from transformers import AutoModelForCausalLM

    tokenizer = load_tokenizer(cfg, what)
    kwargs = {"dtype": "auto" if cfg.dtype == "auto" else getattr(torch, cfg.dtype), **_hub_kwargs(cfg)}
    if cfg.attn_implementation:
        kwargs["attn_implementation"] = cfg.attn_implementation
    with _loading(cfg.name_or_path, what):
        model = AutoModelForCausalLM.from_pretrained(cfg.name_or_path, **kwargs)
    return model, tokenizer


def render_prompts(tokenizer, prompts: Sequence[Any], template_kwargs: Sequence[dict] | None = None) -> list[str]:
    """Prompts as the policy sees them: chat messages through the template with the generation prompt (per-row
    template arguments such as enable_thinking applied); plain strings as they are."""
    kwargs = template_kwargs if template_kwargs is not None else [{}] * len(prompts)
    return [
        tokenizer.apply_chat_template(p, tokenize=False, add_generation_prompt=True, **kw)
        if isinstance(p, list)
        else p
        for p, kw in zip(prompts, kwargs)
    ]
