"""Runs under `accelerate launch` (or torchrun) with several processes: one record per run, and the two places where
accelerate and transformers fall short on CPU ranks.

One record: every rank runs `rlkd train`, but W&B, rlkd_run.json, config.resolved.yaml, data_report.json and
rlkd's INFO log lines belong to the main process only (`is_main`, `quiet_replicas`); metrics.jsonl already was
(rlkd.training.tracking), and TRL writes checkpoints and the final model from the main process (every rank must
still call `save_model`: under FSDP saving gathers the shards).

CPU ranks (`grpo.use_cpu: true`, accelerate's MULTI_CPU over gloo; what CI and a laptop can run):
- Resume: accelerate gives each CPU rank the device `cpu:0`, and transformers loads the optimizer state with
  `map_location=args.device` when there are several processes; torch's CPU deserializer accepts only the location
  "cpu" and fails with "don't know how to restore data location of torch.storage.UntypedStorage (tagged with
  cpu:0)". `accept_indexed_cpu_locations` registers a deserializer for "cpu:N" (the same memory).
- FSDP: accelerate turns an FSDP launch config into DistributedType.FSDP only for accelerator devices; on CPU it
  silently falls back to plain data parallelism. torch's FSDP2 (`fully_shard`) runs on gloo, so `fsdp_on_cpu`
  lets accelerate's own FSDP path (its plugin, `fsdp2_prepare_model`, its sharded checkpoints) run on CPU ranks
  while a trainer's Accelerator is created. It changes nothing when CUDA is present or FSDP was not asked for.

On any device, FSDP with sharded checkpoints (`fsdp_state_dict_type: SHARDED_STATE_DICT`) makes transformers'
`save_model` write nothing at all; `gather_final_model` switches the plugin to a full state dict before the final
save (accelerate's own documented use: "user trains with sharded, but final save is with full").
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

# rlkd's own loggers (and its reward and curriculum packages): INFO from rank 0 only, warnings from every rank.
PROJECT_LOGGERS = ("rlkd", "rewards", "curricula")


def is_main(args) -> bool:
    """Is this the process that writes the run's records (W&B, rlkd_run.json, logs)? `args` is a TRL config."""
    return args.process_index == 0


def quiet_replicas(args) -> None:
    """On every process but the main one, rlkd logs warnings and errors only (transformers does the same for its
    own loggers through `log_level_replica`), so a two-rank run prints each line once."""
    if not is_main(args):
        for name in PROJECT_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)


def _restore_indexed_cpu(storage, location: str):
    if location.startswith("cpu:") and location[4:].isdigit():
        return storage  # torch.load hands CPU storages over as they are; "cpu:0" names the same memory
    return None


_REGISTERED = False


def accept_indexed_cpu_locations() -> None:
    """Let torch.load take map_location=torch.device("cpu", N), as transformers passes on CPU ranks (idempotent)."""
    global _REGISTERED
    if _REGISTERED:
        return
    import torch

    # Tagging (saving) is left to torch's own CPU tagger: this one never claims a storage.
    torch.serialization.register_package(100, lambda obj: None, _restore_indexed_cpu)
    _REGISTERED = True


@contextmanager
def fsdp_on_cpu() -> Iterator[None]:
    """While active, an Accelerator created on CPU ranks (MULTI_CPU) with an FSDP plugin (an FSDP launch config or
    ACCELERATE_USE_FSDP=true) runs FSDP, as it would on GPUs, instead of falling back to data parallelism."""
    import torch
    from accelerate.state import AcceleratorState, PartialState
    from accelerate.utils import DistributedType

    if torch.cuda.is_available():
        yield
        return
    original = AcceleratorState.__init__

    def init(self, *args, fsdp_plugin=None, **kwargs):
        original(self, *args, fsdp_plugin=fsdp_plugin, **kwargs)
        if fsdp_plugin is not None and self.distributed_type == DistributedType.MULTI_CPU:
            # What AcceleratorState.__init__ does for accelerator devices (mixed precision stays "no" on CPU).
            self.distributed_type = DistributedType.FSDP
            self.fsdp_plugin = fsdp_plugin
            PartialState._shared_state["distributed_type"] = DistributedType.FSDP

    AcceleratorState.__init__ = init
    try:
        yield
    finally:
        AcceleratorState.__init__ = original


def gather_final_model(trainer) -> None:
    """Before the final `save_model` under FSDP: gather a full state dict, so the run ends with a `from_pretrained`
    directory even when its checkpoints are sharded."""
    plugin = getattr(trainer.accelerator.state, "fsdp_plugin", None)
    if plugin is not None and "FULL_STATE_DICT" not in str(plugin.state_dict_type):
        plugin.set_state_dict_type("FULL_STATE_DICT")
