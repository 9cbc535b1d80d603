"""The LoRA merge the CPU vLLM sync sends (rlkd.generation.adapters) against PEFT's own merge_and_unload, on tiny
tied (Qwen2) and untied (Llama) models; and the adapters it must refuse rather than merge wrongly.

PEFT initialises B to zero, so a fresh adapter merges to the base model whatever the code does: every case first
gives the adapter random non-zero weights, so a wrong scale, a missing transpose or a dropped layer shows."""

import copy

import pytest
import torch

from rlkd.errors import ConfigError
from rlkd.generation.adapters import check_mergeable, merged_weights


def _qwen2():
    from rlkd.demo.tiny import build_model, build_tokenizer

    return build_model(build_tokenizer(), hidden_size=64, intermediate_size=96, layers=1, heads=1, kv_heads=1)


def _llama():
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=300, hidden_size=64, intermediate_size=96, num_hidden_layers=1, num_attention_heads=1,
        num_key_value_heads=1, tie_word_embeddings=False,
    )  # fmt: skip
    return LlamaForCausalLM(config)


def _adapted(model, **lora):
    from peft import LoraConfig, get_peft_model

    peft_model = get_peft_model(model, LoraConfig(task_type="CAUSAL_LM", **lora))
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in peft_model.parameters():
            if p.requires_grad:  # A, B, biases of lora_bias, modules_to_save copies
                p.add_(torch.randn(p.shape, generator=gen) * 0.1)
    return peft_model


@pytest.mark.parametrize(
    "make, lora",
    [
        # every linear layer of the tied student: the sync's default case (lm_head is the tied embedding, not adapted)
        (_qwen2, dict(r=4, lora_alpha=8, target_modules="all-linear")),
        # rank-stabilised scale alpha/sqrt(r), a subset of layers by name
        (_qwen2, dict(r=4, lora_alpha=8, use_rslora=True, target_modules=["q_proj", "down_proj"])),
        # untied Llama with a fully trained copy of lm_head (modules_to_save: sent under the original name)
        (_llama, dict(r=2, lora_alpha=4, target_modules="all-linear", modules_to_save=["lm_head"])),
        # an adapted embedding (its A/B are transposed relative to Linear) on the untied model
        (_llama, dict(r=2, lora_alpha=6, target_modules=["embed_tokens", "v_proj"])),
        # lora_bias: the adapter's bias is merged into the base bias (Qwen2's q/k/v have biases)
        (_qwen2, dict(r=2, lora_alpha=6, target_modules=["q_proj", "k_proj"], lora_bias=True)),
    ],
    ids=["qwen2-all-linear", "qwen2-rslora", "llama-modules-to-save", "llama-embedding", "qwen2-lora-bias"],
)
def test_merged_weights_equal_peft_merge_and_model_is_untouched(make, lora):
    model = _adapted(make(), **lora)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    ours = dict(merged_weights(model))
    expected = copy.deepcopy(model).merge_and_unload().state_dict()
    assert set(ours) == set(expected)  # the base model's names, tied alias included, no PEFT tensors
    for name, tensor in expected.items():
        torch.testing.assert_close(ours[name], tensor, rtol=0, atol=1e-6, msg=name)
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, before[name]), name  # nothing merged into (or drifted in) the live model
    base = copy.deepcopy(model).unload().state_dict()  # the base model, adapters dropped unmerged
    assert any(not torch.equal(ours[n], base[n]) for n in base)  # the merge changed something: not trivially the base


def test_full_model_weights_are_its_state_dict():
    model = _qwen2()
    ours = dict(merged_weights(model))
    assert list(ours) == list(model.state_dict())  # lm_head.weight (the tied alias) included
    assert all(torch.equal(ours[k], v) for k, v in model.state_dict().items())


@pytest.mark.parametrize(
    "lora, fragment",
    [
        (dict(use_dora=True), "q_proj is a Linear with a LoRA variant"),  # DoRA rescales W: not W + scaling·B·A
        (dict(target_modules=None, target_parameters=["mlp.down_proj.weight"]), "target_parameters"),
    ],
    ids=["dora", "target-parameters"],
)
def test_unmergeable_adapters_are_refused(lora, fragment):
    lora = {"r": 2, "target_modules": ["q_proj"], **lora}
    with pytest.raises(ConfigError, match=fragment):
        check_mergeable(_adapted(_qwen2(), **lora))


def test_vanilla_lora_is_mergeable():
    check_mergeable(_adapted(_qwen2(), r=2, target_modules="all-linear"))  # no error: the default case
