"""The run config's sections: frozen, typed dataclasses whose `__post_init__` checks say what to set.

Why strict: a misspelt key in an RL config silently falls back to a default and can cost a multi-day run, so the
loader (rlkd.config.loader) fails on an unknown key with the valid keys listed, and each section checks its own
values here, on every machine. Checks that depend on the machine (is vLLM installed, is there CUDA) and on TRL's
own config classes live in rlkd.config.trl_bridge. Every number is range-checked here (rlkd.config.checks): NaN,
infinity, a zero count or a negative rate is a one-line error before anything loads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from rlkd.config import checks
from rlkd.errors import ConfigError

MAX_TOKENS = 2**24  # a completion or context length beyond 16M tokens is a typo, and overflows index arithmetic


@dataclass(frozen=True)
class ModelConfig:
    """The student policy: a local directory or a Hub id, loaded with `from_pretrained`."""

    name_or_path: str
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "float32"
    revision: str | None = None
    trust_remote_code: bool = False
    attn_implementation: str | None = None

    def __post_init__(self) -> None:
        checks.name("model.name_or_path", self.name_or_path)
        checks.name("model.revision", self.revision)
        checks.name("model.attn_implementation", self.attn_implementation)


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
    # Held-out rows, one of: a split of `path` (a dataset dir or Hub dataset with splits; a single file has none),
    # a source of their own (`eval_path`, with `eval_split` naming its split if it has several), or a seeded share
    # of the train rows (`eval_fraction`, carved out and logged).
    eval_split: str | None = None
    eval_path: str | None = None
    eval_fraction: float | None = None
    eval_seed: int = 0  # seeds the eval_fraction carve-out
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
        for key in ("path", "generator", "prompt_column", "solution_column", "train_split", "eval_split", "eval_path"):
            checks.name(f"data.{key}", getattr(self, key))
        checks.in_range("data.thinking_ratio", self.thinking_ratio, 0.0, 1.0)
        if self.eval_fraction is not None:
            if not 0.0 < self.eval_fraction < 1.0:
                raise ConfigError(f"data.eval_fraction must be in (0, 1), got {self.eval_fraction}")
            if self.eval_path is not None or self.eval_split is not None:
                raise ConfigError(
                    "data.eval_fraction carves the eval rows out of the train rows: unset data.eval_path and "
                    "data.eval_split, or unset data.eval_fraction"
                )


@dataclass(frozen=True)
class RewardSpec:
    """One reward: a registry name (`accuracy`, `format`, ...) or `package.module:function`, its weight, its args.

    Plug-ins (anything not shipped in the `rewards` package) run in a worker process of their own unless
    `isolate: false` (docs/rewards.md says what each choice survives); `memory_limit_mb` caps that worker.
    """

    name: str
    weight: float = 1.0
    args: dict[str, Any] = field(default_factory=dict)
    batch_timeout: float | None = 600.0  # seconds one batch may take before its samples are skipped (None: no limit)
    isolate: bool | None = None  # None: plug-ins in a worker process, the built-in rewards in the trainer's
    memory_limit_mb: float | None = None  # address-space cap of an isolated reward's worker (None: no cap)

    def __post_init__(self) -> None:
        checks.name("rewards[].name", self.name)
        module, colon, function = self.name.partition(":")
        if colon and not (module.strip() and function.strip()):
            raise ConfigError(f"rewards[].name '{self.name}': give both parts of package.module:function")
        checks.in_range(f"rewards[{self.name}].weight", self.weight)
        checks.positive(f"rewards[{self.name}].batch_timeout", self.batch_timeout, " (seconds; null for no limit)")
        checks.in_range(f"rewards[{self.name}].memory_limit_mb", self.memory_limit_mb, 64, hint=" (MiB)")
        if self.memory_limit_mb is not None and self.isolate is False:
            raise ConfigError(f"rewards[{self.name}].memory_limit_mb caps an isolated worker: drop it or isolate")


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
    # DAPO dynamic sampling of groups whose accuracy is all 0 or all 1: `mask` takes them out of the loss; `refill`
    # replaces them with groups of extra prompts, generated in up to max_refill_rounds more rounds (true = mask)
    dynamic_sampling: bool | Literal["off", "mask", "refill"] = "off"
    max_refill_rounds: int = 4
    skip_settled: bool = False  # online: skip prompts whose recent groups were all right or all wrong (GRESO)
    # gaussian/online over mixed reasoning modes: one schedule per mode, every batch holding each mode's share of
    # the pool (`none`: one schedule over the mixed pool, which trains the easier mode first)
    stratify: Literal["mode", "none"] = "mode"
    reward: str = "accuracy"

    def __post_init__(self) -> None:
        if isinstance(self.dynamic_sampling, bool):  # the boolean of earlier configs: true meant masking
            object.__setattr__(self, "dynamic_sampling", "mask" if self.dynamic_sampling else "off")
        # each round is a generation batch's worth of extra rollouts at most: a bound keeps a run that never finds
        # informative groups from looping on them
        checks.in_range("curriculum.max_refill_rounds", self.max_refill_rounds, 0, 64)
        if self.skip_settled and self.name != "online":
            raise ConfigError(
                "curriculum.skip_settled reads the online pass-rate table: set curriculum.name online, or drop it"
            )
        if self.name == "gaussian" and self.pass_rates is None:
            raise ConfigError("curriculum.name gaussian needs curriculum.pass_rates: the file `rlkd passrate` writes")
        for key in ("max_pass_rate", "min_pass_rate", "start", "end", "prior"):
            checks.in_range(f"curriculum.{key}", getattr(self, key), 0.0, 1.0, kind="a pass rate")
        low, high = self.min_pass_rate, self.max_pass_rate
        if low is not None and high is not None and low >= high:
            raise ConfigError(f"curriculum.min_pass_rate ({self.min_pass_rate}) must be below max_pass_rate")
        checks.positive("curriculum.sigma", self.sigma)
        checks.in_range("curriculum.ema", self.ema, 0.0, 1.0, open_low=True)
        checks.in_range("curriculum.levels", self.levels, 1, 1_000_000)
        checks.name("curriculum.pass_rates", self.pass_rates)
        checks.name("curriculum.reward", self.reward)


@dataclass(frozen=True)
class PassRateConfig:
    """`rlkd passrate`: k samples per train prompt with the generation settings, scored by curriculum.reward."""

    output: str | None = None  # JSONL; default <grpo.output_dir>/passrate.jsonl
    k: int = 8
    batch_size: int = 16  # prompts per generation call
    seed: int = 0

    def __post_init__(self) -> None:
        checks.count("passrate.k", self.k)
        checks.count("passrate.batch_size", self.batch_size)
        checks.seed("passrate.seed", self.seed)
        checks.name("passrate.output", self.output)


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
        checks.positive("generation.temperature", self.temperature, " (GRPO samples; 1.0 is the recipe's)")
        checks.in_range("generation.top_p", self.top_p, 0.0, 1.0, open_low=True)
        checks.count("generation.top_k", self.top_k, 0, " (0 disables top-k)")
        checks.in_range("generation.min_p", self.min_p, 0.0, 1.0)
        checks.positive("generation.repetition_penalty", self.repetition_penalty, " (1.0 is none)")
        checks.in_range("generation.max_completion_length", self.max_completion_length, 1, MAX_TOKENS)
        checks.in_range(
            "generation.vllm_gpu_memory_utilization", self.vllm_gpu_memory_utilization, 0.0, 1.0, open_low=True
        )
        checks.positive("generation.vllm_kv_cache_gib", self.vllm_kv_cache_gib, " (GiB)")
        checks.in_range("generation.vllm_max_model_length", self.vllm_max_model_length, 1, MAX_TOKENS)
        if self.vllm_max_model_length is not None and self.vllm_max_model_length <= self.max_completion_length:
            raise ConfigError(
                f"generation.vllm_max_model_length ({self.vllm_max_model_length}) must exceed "
                f"generation.max_completion_length ({self.max_completion_length}): it holds the prompt and the "
                "completion"
            )
        checks.count("generation.vllm_cpu_threads", self.vllm_cpu_threads)
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
    # GRPO logs a completions table (prompt, completion, mode, pass-rate estimate, rewards, advantage) every this
    # many steps (0: never); TRL's `log_completions` follows it
    completions_every: int = 50

    def __post_init__(self) -> None:
        checks.name("wandb.project", self.project)
        checks.count("wandb.completions_every", self.completions_every, low=0, hint="(0 turns the table off)")


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
        checks.in_range("sft.alpha", self.alpha, 0.0, 1.0, hint=" (the weight of the cross-entropy term)")
        checks.positive("sft.temperature", self.temperature, " (the softening temperature)")
        checks.in_range("sft.num_problems", self.num_problems, 1, 100_000_000)
        checks.name("sft.completion_column", self.completion_column)
        checks.name("sft.teacher", self.teacher)


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
    # The reward that scores accuracy: None = curriculum.reward (the run's correctness reward, `accuracy` unless
    # set), built from the run's spec so eval scores as training does (a registry name with its defaults if the
    # run has none by that name).
    reward: str | None = None
    rewards: list[str] = field(default_factory=list)  # more rewards to report per mode, by name (e.g. a plug-in's)

    def __post_init__(self) -> None:
        checks.in_range("eval.num_samples", self.num_samples, 1, 1_000_000)
        bad = [k for k in self.pass_k if not 1 <= k <= self.num_samples]
        if bad:
            raise ConfigError(f"eval.pass_k values must be in [1, eval.num_samples={self.num_samples}]; got {bad}")
        checks.positive("eval.temperature", self.temperature, " (null: generation.temperature)")
        checks.in_range("eval.top_p", self.top_p, 0.0, 1.0, open_low=True)
        checks.in_range("eval.max_new_tokens", self.max_new_tokens, 1, MAX_TOKENS)
        checks.count("eval.batch_size", self.batch_size)
        checks.count("eval.max_examples", self.max_examples)
        checks.seed("eval.seed", self.seed)


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
        for i, module in enumerate(self.plugins):
            checks.name(f"plugins.{i}", module)
        names = [r.name for r in self.rewards]
        if len(set(names)) != len(names):
            raise ConfigError(f"rewards: each reward may appear once; got {names}")

    @property
    def output_dir(self) -> Path:
        return Path(self.grpo["output_dir"])
