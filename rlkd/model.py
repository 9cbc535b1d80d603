"""Loading the student policy and its tokenizer with `from_pretrained` (a local directory or a Hub id)."""

from __future__ import annotations

from pathlib import Path

from rlkd.config import ConfigError, ModelConfig


def _looks_local(name: str) -> bool:
    """A Hub id is `name` or `org/name`; anything else (absolute, relative, nested) can only be a local path."""
    return name.startswith(("/", ".", "~")) or name.count("/") > 1


def load_policy(cfg: ModelConfig):
    """Return (model, tokenizer). A path that is neither a local model nor a reachable Hub id is a ConfigError."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if _looks_local(cfg.name_or_path) and not Path(cfg.name_or_path).expanduser().is_dir():
        raise ConfigError(
            f"model.name_or_path: no model directory at '{cfg.name_or_path}' (build the tiny student "
            "with `rlkd tiny-model DIR`, or give a Hub id)"
        )
    kwargs = {"revision": cfg.revision, "trust_remote_code": cfg.trust_remote_code}
    try:
        tokenizer = AutoTokenizer.from_pretrained(cfg.name_or_path, **kwargs)
        dtype = "auto" if cfg.dtype == "auto" else getattr(torch, cfg.dtype)
        model_kwargs = {"dtype": dtype, **kwargs}
        if cfg.attn_implementation:
            model_kwargs["attn_implementation"] = cfg.attn_implementation
        model = AutoModelForCausalLM.from_pretrained(cfg.name_or_path, **model_kwargs)
    except (OSError, ValueError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ConfigError(
            f"model.name_or_path '{cfg.name_or_path}' could not be loaded ({first}); give a local model directory "
            "(e.g. from `rlkd tiny-model DIR`) or a Hub id reachable from this machine"
        ) from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if tokenizer.chat_template is None:
        raise ConfigError(
            f"model.name_or_path '{cfg.name_or_path}': the tokenizer has no chat template; rlkd "
            "prompts are chat messages (system message = reasoning mode)"
        )
    return model, tokenizer
