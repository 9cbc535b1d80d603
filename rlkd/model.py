"""The student: loading it with `from_pretrained` (a local directory or a Hub id), and rendering prompts as it sees
them.

Every stage loads through here, so a path that does not load is the same one-line ConfigError everywhere (train,
validate, eval, passrate), and every stage renders chat prompts the way TRL does (the chat template with the
generation prompt, no extra special tokens), so a length check, a pass-rate estimate and a GRPO step see the same
tokens.

Failing fast on a wrong model path: a name that is a local directory loads from disk; a name that looks like a path
(absolute, `./`, `~`, more than one `/`, or whose first part is a directory here, as `runs/nothing` is when `runs/`
exists) and is not a directory is an error at once, naming the working directory relative paths resolve against;
only the rest are Hub ids, looked up once with a HUB_TIMEOUT_S timeout (from_pretrained's own retries took ~55 s to
report an unreachable Hub). With HF_HUB_OFFLINE=1, or a model already in the Hub cache, there is no look-up.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rlkd.config import ModelConfig
from rlkd.errors import ConfigError, first_line

HUB_TIMEOUT_S = 10.0


def _looks_local(name: str) -> bool:
    """A Hub id is `name` or `org/name`; anything else (absolute, relative, nested) can only be a local path, and so
    is `dir/name` when `dir` is a directory here (`runs/nothing`)."""
    if name.startswith(("/", ".", "~")) or name.count("/") > 1 or "\\" in name:
        return True
    head = name.split("/", 1)[0]
    return "/" in name and Path(head).is_dir()


@functools.lru_cache(maxsize=64)
def _check_source(name: str, revision: str | None, what: str) -> None:
    """ConfigError, in seconds, for a model that is neither a local directory nor a Hub id the Hub knows."""
    import os

    if Path(name).expanduser().is_dir():
        return
    if _looks_local(name):
        raise ConfigError(
            f"{what}: no model directory at '{name}' (relative paths resolve against the working directory, "
            f"{os.getcwd()}), so it could not be loaded; build the tiny student with `rlkd tiny-model DIR`, or give "
            "a Hub id"
        )
    import huggingface_hub
    from huggingface_hub.errors import (
        HfHubHTTPError,
        HFValidationError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    if huggingface_hub.constants.HF_HUB_OFFLINE:
        return  # from_pretrained reads the cache and fails fast itself
    if isinstance(huggingface_hub.try_to_load_from_cache(name, "config.json", revision=revision), str):
        return
    try:
        huggingface_hub.model_info(name, revision=revision, timeout=HUB_TIMEOUT_S)
    except (RepositoryNotFoundError, RevisionNotFoundError, HFValidationError) as e:
        raise ConfigError(
            f"{what} '{name}' is not a local directory (relative to {os.getcwd()}) nor a model on the Hub "
            f"({first_line(e)}); check the path or the id (a private or gated model needs `hf auth login`)"
        ) from None
    except HfHubHTTPError as e:
        if getattr(e.response, "status_code", None) == 404:
            raise ConfigError(
                f"{what} '{name}' is not a local directory (relative to {os.getcwd()}) nor a model on the Hub; "
                "check the path or the id"
            ) from None
        return  # the Hub answered otherwise (rate limit, a 5xx): let from_pretrained try and say what it says
    except Exception as e:  # connection refused, DNS, timeout: the Hub is not reachable from here
        raise ConfigError(
            f"{what} '{name}' is not a local directory (relative to {os.getcwd()}) and the Hub "
            f"({huggingface_hub.constants.ENDPOINT}) could not be reached within {HUB_TIMEOUT_S:.0f} s "
            f"({type(e).__name__}); give a local model directory, or fix the network (HF_ENDPOINT, proxies)"
        ) from None


@contextmanager
def _loading(name: str, what: str = "model.name_or_path", revision: str | None = None) -> Iterator[None]:
    """Turn a `from_pretrained` failure into one line naming the setting."""
    _check_source(name, revision, what)
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

    with _loading(cfg.name_or_path, what, cfg.revision):
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

    with _loading(cfg.name_or_path, what, cfg.revision):
        return AutoConfig.from_pretrained(cfg.name_or_path, **_hub_kwargs(cfg))


def load_policy(cfg: ModelConfig, what: str = "model.name_or_path", tokenizer=None):
    """Return (model, tokenizer). A path that is neither a local model nor a reachable Hub id is a ConfigError.
    `tokenizer`: the one already loaded by `load_tokenizer` for the same model."""
    import torch
    from transformers import AutoModelForCausalLM

    tokenizer = tokenizer if tokenizer is not None else load_tokenizer(cfg, what)
    kwargs = {"dtype": "auto" if cfg.dtype == "auto" else getattr(torch, cfg.dtype), **_hub_kwargs(cfg)}
    if cfg.attn_implementation:
        kwargs["attn_implementation"] = cfg.attn_implementation
    with _loading(cfg.name_or_path, what, cfg.revision):
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
