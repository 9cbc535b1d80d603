"""benchmarks/gpu_step.py cannot run here (no CUDA): what can be checked on CPU is its FLOP accounting, its peak
measurement, and that it refuses cleanly instead of failing deep inside CUDA."""

import importlib.util

import pytest
import torch

from tests.conftest import REPO


@pytest.fixture(scope="module")
def gpu_step():
    spec = importlib.util.spec_from_file_location("gpu_step", REPO / "benchmarks" / "gpu_step.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "params, tokens, expected",
    [
        # 0.5B params, 32 completions of 300 prompt+completion tokens: 8 * 5e8 * 9600 = 3.84e13 FLOPs
        (500_000_000, 9_600, 3.84e13),
        # 2N to sample + 6N to train per token: one token of a 1-parameter model is 8 FLOPs
        (1, 1, 8.0),
    ],
)
def test_step_model_flops(gpu_step, params, tokens, expected):
    assert gpu_step.step_model_flops(params, tokens) == pytest.approx(expected)


def test_matmul_peak_measures_a_positive_rate(gpu_step):
    # the same code path the GPU run uses, on a small float32 CPU matmul
    assert gpu_step.matmul_peak_tflops(device="cpu", dtype=torch.float32, n=128, iters=2) > 0


def test_refuses_without_cuda_in_one_line(gpu_step, monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert gpu_step.main([]) == 2
    err = capsys.readouterr().err.strip()
    assert err.splitlines() == ["gpu_step.py: no CUDA GPU found; this benchmark measures GPU step time and MFU only"]


def test_model_is_about_half_a_billion_parameters(gpu_step):
    from rlkd.demo.tiny import build_model, build_tokenizer

    with torch.device("meta"):  # shapes only: no 2 GB allocation on a CPU box
        model = build_model(build_tokenizer(), **gpu_step.MODEL)
    assert 0.4e9 < sum(p.numel() for p in model.parameters()) < 0.6e9
