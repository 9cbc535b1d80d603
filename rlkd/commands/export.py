"""`rlkd export RUN_DIR [--merge] [--out DIR]`: a LoRA run's adapter, or the student with the adapter merged in.

A LoRA run (`peft:` in the config) saves adapters only: each checkpoint and the final output dir hold
adapter_config.json and adapter_model.safetensors (a few MB for a 7B student, where a full checkpoint is GBs). To
serve the policy or start the next stage from it:

    rlkd export runs/my-lora-rl --merge            # → runs/my-lora-rl/merged: a plain `from_pretrained` model
    rlkd export runs/my-lora-rl/checkpoint-200     # → .../checkpoint-200/adapter: the adapter and tokenizer alone

RUN_DIR is a run's output dir or one of its checkpoints. The base model is the run's `model:` section (from
config.resolved.yaml beside the adapter, or in the run dir above a checkpoint), loaded the way every stage loads
it (rlkd.model.load_policy), so the merge happens in the dtype the run trained in; without a resolved config it is
the adapter's own base_model_name_or_path. `--merge` uses PEFT's merge_and_unload on that fresh copy.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import yaml

from rlkd.config import ModelConfig
from rlkd.errors import ConfigError

logger = logging.getLogger(__name__)

ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_FILES = (ADAPTER_CONFIG, "adapter_model.safetensors", "adapter_model.bin")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja")


def base_model(src: Path) -> ModelConfig:
    """The `model:` section the adapter was trained on."""
    for resolved in (src / "config.resolved.yaml", src.parent / "config.resolved.yaml"):
        if resolved.is_file():
            section = (yaml.safe_load(resolved.read_text()) or {}).get("model") or {}
            if section.get("name_or_path"):
                return ModelConfig(**section)
    name = json.loads((src / ADAPTER_CONFIG).read_text()).get("base_model_name_or_path")
    if not name:
        raise ConfigError(f"{src}: neither a config.resolved.yaml nor the adapter names its base model")
    return ModelConfig(name_or_path=name, dtype="auto")


def export(run_dir: str | Path, merge: bool = False, out: str | Path | None = None) -> Path:
    """Write the adapter (or, with `merge`, the merged model) and the tokenizer to `out`; returns `out`."""
    src = Path(run_dir)
    if not src.is_dir():
        raise ConfigError(f"rlkd export: no directory at '{src}': give a run's output dir or one of its checkpoints")
    if not (src / ADAPTER_CONFIG).is_file():
        raise ConfigError(
            f"rlkd export: '{src}' holds no LoRA adapter ({ADAPTER_CONFIG}): a run without a peft: section saves the "
            "full model, which from_pretrained loads as it is"
        )
    dest = Path(out) if out is not None else src / ("merged" if merge else "adapter")
    if dest.resolve() == src.resolve():
        raise ConfigError("rlkd export: --out must differ from the run dir (the adapter would be overwritten)")
    dest.mkdir(parents=True, exist_ok=True)
    if merge:
        from peft import PeftModel

        from rlkd.model import load_policy

        model, tokenizer = load_policy(base_model(src), what="the run's model.name_or_path")
        merged = PeftModel.from_pretrained(model, str(src)).merge_and_unload()
        merged.save_pretrained(str(dest))
        tokenizer.save_pretrained(str(dest))
    else:
        for name in (*ADAPTER_FILES, *TOKENIZER_FILES):
            if (src / name).is_file():
                shutil.copy2(src / name, dest / name)
    logger.info("exported %s %s to %s", "the merged model of" if merge else "the adapter of", src, dest)
    return dest
