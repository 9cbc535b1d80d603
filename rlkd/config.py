"""Run configuration: one YAML file per run → frozen, typed dataclasses.

Why strict: a misspelt key in an RL config silently falls back to a default and can cost a multi-day run, so an
unknown key fails at load time with the valid keys listed, and a wrong type fails with the key and what to set.

The `grpo:` section belongs to TRL: it is passed to `trl.GRPOConfig(**grpo)` unchanged (rlkd does not re-declare
its ~80 fields), but it is type-checked against GRPOConfig's own annotations first, so `grpo.learning_rate=abc`
fails here rather than inside the optimizer. Settings that rlkd owns (sampling, reward weights, tracking) are
rejected in `grpo:` with a pointer to the rlkd section, so there is one source of truth for each.

Usage:
    cfg = load_config("configs/tiny-cpu.yaml", ["grpo.max_steps=4"])
    args = build_grpo_config(cfg)   # the trl.GRPOConfig, validated by TRL itself
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml


class ConfigError(ValueError):
    """A config problem the user must fix; its message is one line saying what to set."""


@dataclass(frozen=True)
class ModelConfig:
    """The student policy: a local directory or a Hub id, loaded with `from_pretrained`."""

    name_or_path: str
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "float32"
    revision: str | None = None
    trust_remote_code: bool = False
    attn_implementation: str | None = None


@dataclass(frozen=True)
class DataConfig:
    """Where prompts and solutions come from, and how prompts are turned into chat messages.

    Exactly one of `path` (a local JSON/JSONL/Parquet/CSV file, a `save_to_disk` directory or a Hub dataset id) and
    `generator` (a dataset built locally, so tests and the demo download nothing) is set.
    """

    path: str | None = None
    generator: Literal["arithmetic"] | None = None
    generator_args: dict[str, Any] = field(default_factory=dict)
    prompt_column: str = "prompt"
    solution_column: str = "solution"
    train_split: str = "train"
    eval_split: str | None = None
    # The Llama-Nemotron reasoning toggle: the system message says "detailed thinking on" or "... off".
    thinking: Literal["on", "off", "mixed", "none"] = "on"
    thinking_ratio: float = 0.5  # share of thinking-on prompts when thinking is "mixed"
    # "slash": /think and /no_think (Qwen3, later Nemotron); "enable_thinking": the chat template's flag (Qwen3).
    thinking_style: Literal["nemotron", "slash", "enable_thinking"] = "nemotron"
    system_prompt: str | None = None  # prepended to the mode line in the system message
    # Malformed rows (missing/empty prompt or solution, over-long prompt): fail naming the row, or skip and count.
    on_bad_rows: Literal["error", "skip"] = "error"

    def __post_init__(self) -> None:
        if (self.path is None) == (self.generator is None):
            raise ConfigError(
                "data: set exactly one of data.path (a dataset file, directory or Hub id) or data.generator"
            )
        if not 0.0 <= self.thinking_ratio <= 1.0:
            raise ConfigError(f"data.thinking_ratio must be in [0, 1], got {self.thinking_ratio}")


@dataclass(frozen=True)
class RewardSpec:
    """One reward: a registry name (`accuracy`, `format`, ...) or `package.module:function`, its weight, its args."""

    name: str
    weight: float = 1.0
    args: dict[str, Any] = field(default_factory=dict)
    batch_timeout: float | None = 600.0  # seconds one batch may take before its samples are skipped (None: no limit)


@dataclass(frozen=True)
class CurriculumConfig:
    """How prompts are ordered into batches (docs/curricula.md). `uniform` is TRL's shuffled sampling (over the
    filtered pool when `pass_rates` is set); `gaussian` is the Llama-Nemotron curriculum over offline pass rates;
    `online` is the same over a table updated from training. `reward` names the reward that judges correctness."""

    name: Literal["uniform", "gaussian", "online"] = "uniform"
    pass_rates: str | None = None  # the file `rlkd passrate` writes; rows are matched to the data by prompt
    max_pass_rate: float | None = 0.75  # drop prompts whose pass rate is >= this (needs pass rates)
    min_pass_rate: float | None = None  # and those <= this (0.0 drops never-solved prompts)
    sigma: float = 0.1  # width of the Gaussian target, in pass-rate units
    start: float | None = None  # centre of the first batch's target (default: the easiest level)
    end: float | None = None  # centre of the last batch's target (default: the hardest level)
    schedule: Literal["linear", "cosine"] = "linear"
    levels: int | None = None  # group pass rates into multiples of 1/levels (default: exact for gaussian, 8 online)
    prior: float = 0.5  # online: pass rate assumed for prompts with no estimate yet
    ema: float = 0.5  # online: weight of the newest group accuracy in a prompt's estimate
    dynamic_sampling: bool = False  # DAPO: mask groups whose accuracy is all 0 or all 1 out of the loss
    reward: str = "accuracy"

    def __post_init__(self) -> None:
        if self.name == "gaussian" and self.pass_rates is None:
            raise ConfigError("curriculum.name gaussian needs curriculum.pass_rates: the file `rlkd passrate` writes")
        for key in ("max_pass_rate", "min_pass_rate", "start", "end", "prior"):
            value = getattr(self, key)
            if value is not None and not 0.0 <= value <= 1.0:
                raise ConfigError(f"curriculum.{key} must be a pass rate in [0, 1], got {value}")
        low, high = self.min_pass_rate, self.max_pass_rate
        if low is not None and high is not None and low >= high:
            raise ConfigError(f"curriculum.min_pass_rate ({self.min_pass_rate}) must be below max_pass_rate")
        if self.sigma <= 0:
            raise ConfigError(f"curriculum.sigma must be > 0, got {self.sigma}")
        if not 0.0 < self.ema <= 1.0:
            raise ConfigError(f"curriculum.ema must be in (0, 1], got {self.ema}")
        if self.levels is not None and self.levels < 1:
            raise ConfigError(f"curriculum.levels must be >= 1, got {self.levels}")


@dataclass(frozen=True)
class PassRateConfig:
    """`rlkd passrate`: k samples per train prompt with the generation settings, scored by curriculum.reward."""

    output: str | None = None  # JSONL; default <grpo.output_dir>/passrate.jsonl
    k: int = 8
    batch_size: int = 16  # prompts per generation call
    seed: int = 0

    def __post_init__(self) -> None:
        if self.k < 1 or self.batch_size < 1:
            raise ConfigError(f"passrate.k and passrate.batch_size must be >= 1, got {self.k} and {self.batch_size}")


@dataclass(frozen=True)
class GenerationConfig:
    """How GRPO groups are sampled. The group size is `grpo.num_generations` (it is GRPO's, not the sampler's)."""

    backend: Literal["transformers", "vllm"] = "transformers"
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0  # 0 disables top-k
    min_p: float | None = None
    repetition_penalty: float = 1.0
    max_completion_length: int = 256
    # vLLM engine (backend: vllm); docs/vllm.md says which apply on CPU and which on GPU.
    vllm_mode: Literal["colocate", "server"] = "colocate"  # server: `trl vllm-serve` on separate GPUs (CUDA only)
    vllm_gpu_memory_utilization: float = 0.3  # GPU colocate: share of GPU memory for vLLM (weights + KV cache)
    vllm_kv_cache_gib: float | None = None  # explicit KV cache size; on CPU unset = sized for one sampling batch
    vllm_max_model_length: int | None = None  # prompt + completion tokens; unset = the model's max positions
    vllm_enforce_eager: bool | None = None  # unset: eager on CPU (no compile at start), compiled on GPU
    vllm_enable_sleep_mode: bool = False  # GPU colocate: offload vLLM during the optimizer step
    vllm_cpu_threads: int | None = None  # CPU: torch threads while vLLM samples; unset = 1 (vLLM's serving default)

    def __post_init__(self) -> None:
        if self.temperature <= 0:
            raise ConfigError(f"generation.temperature must be > 0 for GRPO sampling, got {self.temperature}")
        if not 0.0 < self.top_p <= 1.0:
            raise ConfigError(f"generation.top_p must be in (0, 1], got {self.top_p}")
        if self.max_completion_length < 1:
            raise ConfigError(f"generation.max_completion_length must be >= 1, got {self.max_completion_length}")
        from rlkd.vllm_engine import check_generation_config

        check_generation_config(self)


@dataclass(frozen=True)
class WandbConfig:
    """Weights & Biases tracking. `auto`: online with credentials, otherwise offline under the output dir."""

    mode: Literal["auto", "online", "offline", "disabled"] = "auto"
    project: str = "rlkd"
    entity: str | None = None
    name: str | None = None
    group: str | None = None
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SFTConfig:
    """The SFT/distillation stage before RL (`rlkd sft`), on TRL's SFTTrainer.

    Traces: the symbolic teacher's paired on/off responses when data.generator is arithmetic, else the dataset's
    `completion_column`. `args` goes to trl.SFTConfig as is, like `grpo:` (output_dir defaults to
    `<grpo.output_dir>-sft`). With a `teacher` model (same tokenizer as the student) the loss is
    alpha·CE + (1 − alpha)·KL(teacher_τ ‖ student_τ)·τ², τ = `temperature`.
    """

    num_problems: int | None = None  # teacher problems (arithmetic); None: as many as data's train split
    completion_column: str = "completion"
    teacher: str | None = None
    alpha: float = 0.5
    temperature: float = 2.0
    args: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0.0 <= self.alpha <= 1.0:
            raise ConfigError(f"sft.alpha must be in [0, 1] (the weight of the cross-entropy term), got {self.alpha}")
        if self.temperature <= 0:
            raise ConfigError(f"sft.temperature must be > 0 (the softening temperature), got {self.temperature}")
        if self.num_problems is not None and self.num_problems < 1:
            raise ConfigError(f"sft.num_problems must be >= 1, got {self.num_problems}")


@dataclass(frozen=True)
class EvalConfig:
    """`rlkd eval`: greedy accuracy plus pass@k from `num_samples` samples per prompt, on the held-out split."""

    num_samples: int = 8
    pass_k: list[int] = field(default_factory=lambda: [1, 8])
    temperature: float | None = None  # None: generation.temperature (what GRPO samples at)
    top_p: float | None = None  # None: generation.top_p
    max_new_tokens: int | None = None  # None: generation.max_completion_length
    batch_size: int = 64
    max_examples: int | None = None  # None: the whole eval split
    seed: int = 0  # sampling seed, so two models are compared on the same random stream

    def __post_init__(self) -> None:
        if self.num_samples < 1:
            raise ConfigError(f"eval.num_samples must be >= 1, got {self.num_samples}")
        bad = [k for k in self.pass_k if not 1 <= k <= self.num_samples]
        if bad:
            raise ConfigError(f"eval.pass_k values must be in [1, eval.num_samples={self.num_samples}]; got {bad}")
        if self.batch_size < 1:
            raise ConfigError(f"eval.batch_size must be >= 1, got {self.batch_size}")


@dataclass(frozen=True)
class RunConfig:
    model: ModelConfig
    data: DataConfig
    rewards: list[RewardSpec]
    curriculum: CurriculumConfig = field(default_factory=CurriculumConfig)
    passrate: PassRateConfig = field(default_factory=PassRateConfig)
    generation: GenerationConfig = field(default_factory=GenerationConfig)
    wandb: WandbConfig = field(default_factory=WandbConfig)
    sft: SFTConfig = field(default_factory=SFTConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    plugins: list[str] = field(default_factory=list)  # modules imported before reward lookup
    grpo: dict[str, Any] = field(default_factory=dict)  # passed to trl.GRPOConfig as is

    def __post_init__(self) -> None:
        if not self.rewards:
            raise ConfigError("rewards: list at least one reward, e.g. rewards: [{name: accuracy}]")
        names = [r.name for r in self.rewards]
        if len(set(names)) != len(names):
            raise ConfigError(f"rewards: each reward may appear once; got {names}")

    @property
    def output_dir(self) -> Path:
        return Path(self.grpo["output_dir"])


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
}


# ---------------------------------------------------------------------------------------------------------------
# Loading


def load_config(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> RunConfig:
    """Read a YAML config, apply dotted `key=value` overrides, and return the checked RunConfig."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{path}: invalid YAML{where}: {problem}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections (model, data, rewards, ...)")
    for override in overrides:
        apply_override(raw, override)
    raw.setdefault("grpo", {})
    if isinstance(raw["grpo"], dict):
        raw["grpo"].setdefault("output_dir", f"runs/{path.stem}")
    return parse_config(raw)


def parse_config(raw: dict[str, Any]) -> RunConfig:
    cfg = _build(RunConfig, raw, "")
    _check_grpo_section(cfg.grpo)
    return cfg


def apply_override(raw: dict[str, Any], override: str) -> None:
    """Apply `a.b.c=value` to the nested dict `raw`; the value is parsed as YAML (`4` → int, `true` → bool)."""
    key, sep, text = override.partition("=")
    if not sep or not key:
        raise ConfigError(f"override '{override}' must look like section.key=value, e.g. grpo.max_steps=4")
    try:
        value = yaml.safe_load(text) if text else ""
    except yaml.YAMLError:
        value = text
    node: Any = raw
    parts = key.split(".")
    for i, part in enumerate(parts[:-1]):
        node = _child(node, part, ".".join(parts[: i + 1]), create=True)
    last = parts[-1]
    if isinstance(node, list):
        node[_index(node, last, key)] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise ConfigError(f"override '{override}': {'.'.join(parts[:-1])} is not a section")


def _index(node: list, part: str, where: str) -> int:
    if not part.isdigit() or int(part) >= len(node):
        raise ConfigError(f"override {where}: '{part}' is not an index of a list of {len(node)}")
    return int(part)


def _child(node: Any, part: str, where: str, create: bool) -> Any:
    if isinstance(node, list):
        return node[_index(node, part, where)]
    if not isinstance(node, dict):
        raise ConfigError(f"override {where}: the parent is not a section")
    if part not in node or node[part] is None:
        node[part] = {}
    return node[part]


# ---------------------------------------------------------------------------------------------------------------
# Strict construction of dataclasses from plain YAML data


def _build(cls: type, data: Any, where: str) -> Any:
    label = where or "config"
    if not isinstance(data, dict):
        raise ConfigError(f"{label}: expected a mapping of keys, got {_describe(data)}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in fields:
            raise ConfigError(_unknown_key_message(_join(where, str(key)), str(key), list(fields)))
    hints = typing.get_type_hints(cls)
    kwargs = {key: _coerce(value, hints[key], _join(where, key)) for key, value in data.items()}
    for name, f in fields.items():
        if name not in kwargs and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{_join(where, name)} is required")
    return cls(**kwargs)


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _unknown_key_message(full_key: str, key: str, valid: list[str]) -> str:
    close = difflib.get_close_matches(key, valid, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown key '{full_key}'{hint}; valid keys: {', '.join(valid)}"


def _describe(value: Any) -> str:
    return f"{type(value).__name__} {value!r}" if not isinstance(value, (dict, list)) else type(value).__name__


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Check `value` against the annotation `tp`, converting only where YAML is ambiguous (`1e-6` is a string)."""
    if tp is Any or tp is object:
        return value
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, where)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where)
            except ConfigError as e:
                errors.append(e)
        raise errors[-1] if len(errors) == 1 else ConfigError(f"{where}: {_describe(value)} is not a valid value")
    if origin is Literal:
        if isinstance(value, bool) and ("on" if value else "off") in args:
            return "on" if value else "off"  # YAML 1.1 reads a bare on/off as a boolean
        if value in args and not isinstance(value, bool):
            return value
        raise ConfigError(f"{where} must be one of {', '.join(repr(a) for a in args)}; got {value!r}")
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where} must be true or false; got {_describe(value)}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{where} must be an integer; got {_describe(value)}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads 1e-6 (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
        raise ConfigError(f"{where} must be a number; got {_describe(value)}")
    if tp is str:
        if isinstance(value, str):
            return value
        hint = " (YAML reads a bare yes/no/on/off as a boolean: quote it)" if isinstance(value, bool) else ""
        raise ConfigError(f"{where} must be a string; got {_describe(value)}{hint}")
    if origin is list or tp is list:
        if not isinstance(value, list):
            raise ConfigError(f"{where} must be a list; got {_describe(value)}")
        return [_coerce(v, args[0], f"{where}.{i}") for i, v in enumerate(value)] if args else value
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a mapping; got {_describe(value)}")
        return {k: _coerce(v, args[1], f"{where}.{k}") for k, v in value.items()} if args else value
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        valid = [m.value for m in tp]
        if value is False and "no" in valid:
            return "no"  # YAML 1.1 reads a bare `no` (save_strategy=no) as false
        if value in valid or isinstance(value, tp):
            return value
        raise ConfigError(f"{where} must be one of {', '.join(map(repr, valid))}; got {value!r}")
    return value  # a type YAML cannot express: leave it to the consumer


# ---------------------------------------------------------------------------------------------------------------
# The grpo section: TRL's fields, checked against TRL's annotations


def grpo_field_types() -> dict[str, Any]:
    """GRPOConfig's field names and annotations (imports TRL, so it is only called when needed)."""
    from trl import GRPOConfig

    return {f.name: f.type for f in dataclasses.fields(GRPOConfig) if f.init}


def _check_grpo_section(grpo: dict[str, Any]) -> None:
    for key, owner in OWNED_GRPO_KEYS.items():
        if key in grpo:
            raise ConfigError(f"grpo.{key} is set by rlkd from {owner}: set {owner} instead")
    types_ = grpo_field_types()
    for key, value in grpo.items():
        if key not in types_:
            close = difflib.get_close_matches(key, list(types_), n=3)
            hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
            raise ConfigError(
                f"unknown key 'grpo.{key}': {hint}grpo takes the fields of trl.GRPOConfig "
                "(https://huggingface.co/docs/trl/grpo_trainer#trl.GRPOConfig)"
            )
        tp = types_[key]
        if not isinstance(tp, str):
            _coerce(value, tp, f"grpo.{key}")


def grpo_kwargs(cfg: RunConfig) -> dict[str, Any]:
    """The full keyword arguments for trl.GRPOConfig: the user's grpo section plus the settings rlkd owns."""
    types_ = grpo_field_types()
    kwargs = {
        k: _coerce(v, types_[k], f"grpo.{k}") if not isinstance(types_[k], str) else v for k, v in cfg.grpo.items()
    }
    gen = cfg.generation
    kwargs.update(
        temperature=gen.temperature,
        top_p=gen.top_p,
        top_k=gen.top_k,
        min_p=gen.min_p,
        repetition_penalty=gen.repetition_penalty,
        max_completion_length=gen.max_completion_length,
        use_vllm=gen.backend == "vllm",
        vllm_mode=gen.vllm_mode,
        vllm_gpu_memory_utilization=gen.vllm_gpu_memory_utilization,
        vllm_max_model_length=gen.vllm_max_model_length,
        vllm_enable_sleep_mode=gen.vllm_enable_sleep_mode,
        reward_weights=[r.weight for r in cfg.rewards],
        report_to=[] if cfg.wandb.mode == "disabled" else ["wandb"],
        run_name=cfg.wandb.name,
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
    import torch

    cuda = torch.cuda.is_available()
    # On a CPU box, mixed precision only slows a run down and loses accuracy; TRL's default would turn bf16 on.
    if "bf16" not in cfg.grpo and "fp16" not in cfg.grpo:
        kwargs["bf16"] = bool(cuda and torch.cuda.is_bf16_supported())
    if not cuda:
        kwargs.setdefault("dataloader_pin_memory", False)  # pinned memory needs an accelerator
    return kwargs


def build_grpo_config(cfg: RunConfig):
    """Construct trl.GRPOConfig, turning TRL's own cross-field checks into one-line ConfigErrors."""
    from trl import GRPOConfig

    if cfg.generation.backend == "vllm":
        from rlkd.vllm_engine import check_vllm_backend

        check_vllm_backend(cfg.generation)  # this machine: vLLM installed, CUDA for server and sleep mode
    try:
        return GRPOConfig(**grpo_kwargs(cfg))
    except (ValueError, TypeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ConfigError(f"grpo: {first}") from None


def to_dict(cfg: RunConfig) -> dict[str, Any]:
    """The resolved config as plain data (defaults filled in), for config.resolved.yaml and wandb.config."""
    return dataclasses.asdict(cfg)


def dump_yaml(cfg: RunConfig) -> str:
    return yaml.safe_dump(to_dict(cfg), sort_keys=False, default_flow_style=False)
