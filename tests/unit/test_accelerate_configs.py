"""The shipped multi-GPU launch configs (configs/accelerate/) load the way `accelerate launch --config_file` loads
them: README and docs point users at these files, and a key accelerate stopped reading, or a typo, would otherwise
surface only on a GPU cluster. The FSDP one also runs for real on two CPU ranks (tests/integration/test_sharded.py);
DeepSpeed cannot run on this CPU box (not installed), so its file is checked as far as accelerate's launcher goes."""

import os
from pathlib import Path
from unittest import mock

import pytest

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "accelerate"


def _launch_args(name):
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser

    argv = ["--config_file", str(CONFIGS / name), "-m", "rlkd.cli", "train", "configs/x.yaml"]
    args, _, _ = _validate_launch_command(launch_command_parser().parse_args(argv))
    return args


def test_every_shipped_config_is_tested():
    assert sorted(p.name for p in CONFIGS.glob("*.yaml")) == ["deepspeed-zero3.yaml", "fsdp2.yaml"]


def test_fsdp2_config_gives_each_rank_an_fsdp2_plugin():
    from accelerate.utils import FullyShardedDataParallelPlugin
    from accelerate.utils.launch import prepare_multi_gpu_env

    args = _launch_args("fsdp2.yaml")
    assert args.use_fsdp and not args.use_deepspeed and args.num_processes == 8 and args.mixed_precision == "bf16"
    env = prepare_multi_gpu_env(args)  # what the launcher hands every rank
    assert env["ACCELERATE_USE_FSDP"] == "true"
    with mock.patch.dict(os.environ, env):
        plugin = FullyShardedDataParallelPlugin()  # what each rank's Accelerator builds from it
    assert plugin.fsdp_version == 2
    assert plugin.state_dict_type.name == "SHARDED_STATE_DICT"  # rlkd gathers the final model itself
    assert plugin.auto_wrap_policy.__name__ == "transformer_auto_wrap_policy"  # one shard unit per decoder layer
    from torch.distributed.fsdp import CPUOffloadPolicy

    assert not isinstance(plugin.cpu_offload, CPUOffloadPolicy)  # parameters stay on the GPUs


@pytest.mark.parametrize(
    "key, expected", [("zero_stage", 3), ("zero3_init_flag", True), ("offload_param_device", "none")]
)
def test_deepspeed_config_is_zero3_on_gpus(key, expected):
    args = _launch_args("deepspeed-zero3.yaml")
    assert args.use_deepspeed and not args.use_fsdp and args.mixed_precision == "bf16"
    assert getattr(args, key) == expected
