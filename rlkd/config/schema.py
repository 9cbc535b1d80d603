"""The run config's sections: frozen, typed dataclasses whose `__post_init__` checks say what to set.

Why strict: a misspelt key in an RL config silently falls back to a default and can cost a multi-day run, so the
loader (rlkd.config.loader) fails on an unknown key with the valid keys listed, and each section checks its own
values here, on every machine. Checks that depend on the machine (is vLLM installed, is there CUDA) and on TRL's
own config classes live in rlkd.config.trl_bridge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from rlkd.errors import ConfigError


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
    `generator` (a registered task that builds its rows locally, so tests and the demo download nothing) is set.
    """

    path: str | None = None
    generator: str | None = None  # a registered task generator (rlkd.data.generators), e.g. the demo's arithmetic
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
        if not 0.0 < self.vllm_gpu_memory_utilization <= 1.0:
            raise ConfigError(
                f"generation.vllm_gpu_memory_utilization must be in (0, 1], got {self.vllm_gpu_memory_utilization}"
            )
        if self.vllm_kv_cache_gib is not None and self.vllm_kv_cache_gib <= 0:
            raise ConfigError(f"generation.vllm_kv_cache_gib must be > 0 (GiB), got {self.vllm_kv_cache_gib}")
        if self.vllm_max_model_length is not None and self.vllm_max_model_length <= self.max_completion_length:
            raise ConfigError(
                f"generation.vllm_max_model_length ({self.vllm_max_model_length}) must exceed "
                f"generation.max_completion_length ({self.max_completion_length}): it holds the prompt and the "
                "completion"
            )
        if self.vllm_cpu_threads is not None and self.vllm_cpu_threads < 1:
            raise ConfigError(f"generation.vllm_cpu_threads must be >= 1, got {self.vllm_cpu_threads}")
        if self.vllm_enable_sleep_mode and self.vllm_mode != "colocate":
            raise ConfigError("generation.vllm_enable_sleep_mode applies to vllm_mode: colocate only; set it to false")

    def sampling(self) -> dict[str, Any]:
        """The sampling settings, named as TRL's GRPOConfig names them: GRPO steps and every offline generate
        (eval, passrate) sample with exactly these."""
        return dict(
            temperature=self.temperature,
            top_p=self.top_p,
            top_k=self.top_k,
            min_p=self.min_p,
            repetition_penalty=self.repetition_penalty,
        )


@dataclass(frozen=True)
class PeftConfig:
    """LoRA adapters instead of full fine-tuning (`peft:`; absent = full fine-tuning), for GRPO and SFT alike.

    The keys are peft.LoraConfig's own names, so PEFT's documentation applies as written; the common ones are typed
    here with defaults for RL (every linear layer, as "LoRA Without Regret" found necessary to match full
    fine-tuning; no dropout, which would make the policy's training-mode log-probs differ from the sampler's), and
    any other LoraConfig field goes in `args`, checked against LoraConfig's annotations (rlkd.config.trl_bridge).
    Names in `target_modules` and `modules_to_save` are checked against the loaded model (rlkd.training.lora).
    """

    r: int = 16
    lora_alpha: float = 32.0  # the update is scaled by lora_alpha / r (lora_alpha / sqrt(r) with use_rslora)
    lora_dropout: float = 0.0
    # "all-linear": every linear layer but the output head; or module names (suffixes) or one regex string.
    target_modules: list[str] | str = "all-linear"
    exclude_modules: list[str] | str | None = None
    modules_to_save: list[str] | None = None  # trained in full and saved beside the adapter (e.g. lm_head)
    bias: Literal["none", "all", "lora_only"] = "none"
    use_rslora: bool = False
    args: dict[str, Any] = field(default_factory=dict)  # any other peft.LoraConfig field

    def __post_init__(self) -> None:
        if self.r < 1:
            raise ConfigError(f"peft.r must be >= 1 (the adapter rank), got {self.r}")
        if self.lora_alpha <= 0:
            raise ConfigError(
                f"peft.lora_alpha must be > 0 (the update scale is lora_alpha / r), got {self.lora_alpha}"
            )
        if not 0.0 <= self.lora_dropout < 1.0:
            raise ConfigError(f"peft.lora_dropout must be in [0, 1), got {self.lora_dropout}")
        targets = self.target_modules
        if not (targets.strip() if isinstance(targets, str) else targets):
            raise ConfigError("peft.target_modules is empty: name the modules to adapt, or use 'all-linear'")


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
    peft: PeftConfig | None = None  # LoRA adapters for GRPO and SFT; None: full fine-tuning
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
