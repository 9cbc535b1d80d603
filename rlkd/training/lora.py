"""LoRA adapters (the `peft:` section): their targets checked against the loaded student before anything trains.

PEFT itself only fails when *no* target matches, so `target_modules: [q_proj, v_prj]` silently trains q_proj alone;
rlkd refuses every name that matches no module of the model, with the nearest real name, and a target that selects a
block of layers (`self_attn`, a regex matching a decoder layer), which PEFT would refuse with a traceback from inside
the trainer. It also refuses adapting a tied input embedding or output head: with tied weights the adapter would
change one of the two while the merged model (and the vLLM sampler fed merged weights) changes both, so training and
sampling would disagree.

    check_targets(model, build_peft_config(cfg))   # in rlkd.training.builder.prepare_run and in SFT
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from rlkd.errors import ConfigError


def _matches(pattern: str, name: str) -> bool:
    """PEFT's rule for one listed name: the full module name or its dotted suffix."""
    return name == pattern or name.endswith(f".{pattern}")


def _selected(spec: Any, names: list[str]) -> list[str]:
    """Module names a target spec (a list of names or one regex) selects; 'all-linear' is left to PEFT."""
    if spec is None or spec == "all-linear":
        return []
    if isinstance(spec, str):
        return [n for n in names if re.fullmatch(spec, n)]
    return [n for n in names if any(_matches(p, n) for p in spec)]


def _check_each(spec: Any, names: list[str], leaves: list[str], key: str) -> None:
    if spec is None or spec == "all-linear":
        return
    if isinstance(spec, str):
        if not _selected(spec, names):
            raise ConfigError(
                f"{key} '{spec}' (a regex) matches no module of the model; its layers: {', '.join(leaves)}"
            )
        return
    for pattern in sorted(spec):
        if not any(_matches(pattern, n) for n in names):
            close = difflib.get_close_matches(pattern, leaves, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(
                f"{key}: '{pattern}' matches no module of the model{hint}; its layers: {', '.join(leaves)}"
            )


def check_targets(model, lora_config) -> None:
    """Raise a one-line ConfigError for a target or module to save that names nothing, or a tied embedding."""
    import torch

    names = [n for n, _ in model.named_modules() if n]
    leaves = sorted(
        {
            n.rsplit(".", 1)[-1]
            for n, m in model.named_modules()
            if isinstance(m, (torch.nn.Linear, torch.nn.Embedding))
        }
    )
    _check_each(lora_config.target_modules, names, leaves, "peft.target_modules")
    _check_each(lora_config.modules_to_save, names, leaves, "peft.modules_to_save")
    modules = dict(model.named_modules())
    blocks = [
        n
        for n in _selected(lora_config.target_modules, names)
        if next(modules[n].children(), None) is not None and not isinstance(modules[n], torch.nn.MultiheadAttention)
    ]
    if blocks:  # PEFT would fail inside the trainer with "Target module ... is not supported"
        raise ConfigError(
            f"peft.target_modules selects '{blocks[0]}' ({type(modules[blocks[0]]).__name__}), a block of layers that "
            f"LoRA cannot adapt: name its layers instead; the model's layers: {', '.join(leaves)}"
        )
    text = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    if not getattr(text, "tie_word_embeddings", False):
        return
    tied = {n for n, m in modules.items() if m is model.get_input_embeddings() or m is model.get_output_embeddings()}
    adapted = set(_selected(lora_config.target_modules, names)) | set(_selected(lora_config.modules_to_save, names))
    if tied & adapted:
        raise ConfigError(
            f"peft: {sorted(tied & adapted)} is the model's tied embedding/output head (tie_word_embeddings): an "
            "adapter on it would change one of the tied pair in training but both once merged; leave it out of "
            "peft.target_modules and peft.modules_to_save"
        )


def check_targets_on_meta(model_config, peft_config, trust_remote_code: bool) -> None:
    """`check_targets` on the model's modules built on the meta device: no memory, no weights, so `rlkd validate`
    and `rlkd train` check the targets before anything slow loads."""
    import torch
    from transformers import AutoModelForCausalLM

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(model_config, trust_remote_code=trust_remote_code)
    check_targets(model, peft_config)
