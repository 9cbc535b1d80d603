"""LoRA targets checked against the model before anything trains (rlkd.training.lora.check_targets).

PEFT fails only when *no* target matches, so a typo beside a real name silently trains fewer layers; and an adapter
on a tied embedding trains one of the pair while a merge changes both. Models are built on the meta device, as
`rlkd validate` builds them: no weights, so these run in milliseconds."""

import pytest
import torch

from rlkd.errors import ConfigError
from rlkd.training.lora import check_targets


def _model(tied: bool):
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

    sizes = dict(vocab_size=300, hidden_size=64, intermediate_size=96, num_hidden_layers=1, num_attention_heads=1)
    with torch.device("meta"):
        if tied:
            return Qwen2ForCausalLM(Qwen2Config(**sizes, tie_word_embeddings=True))
        return LlamaForCausalLM(LlamaConfig(**sizes, tie_word_embeddings=False))


def _lora(**kwargs):
    from peft import LoraConfig

    return LoraConfig(task_type="CAUSAL_LM", **kwargs)


@pytest.mark.parametrize(
    "tied, lora",
    [
        (True, dict(target_modules="all-linear")),  # the default: PEFT leaves the output head out
        (True, dict(target_modules=["q_proj", "model.layers.0.mlp.down_proj"])),  # suffixes and full names
        (True, dict(target_modules=r".*\.(q|v)_proj")),  # one regex, matched against full names
        (False, dict(target_modules=["q_proj"], modules_to_save=["lm_head"])),  # untied: the head may train in full
        (False, dict(target_modules=["embed_tokens"])),  # untied: the embedding may be adapted
    ],
    ids=["all-linear", "names", "regex", "untied-head", "untied-embedding"],
)
def test_good_targets_pass(tied, lora):
    check_targets(_model(tied), _lora(**lora))


@pytest.mark.parametrize(
    "tied, lora, fragment",
    [
        # a typo beside a real name: PEFT would adapt q_proj alone and say nothing
        (
            True,
            dict(target_modules=["q_proj", "v_prj"]),
            "'v_prj' matches no module of the model (did you mean 'v_proj'?)",
        ),
        # a regex that selects nothing
        (True, dict(target_modules=r"attn\..*"), "(a regex) matches no module"),
        # modules to save are names too
        (False, dict(target_modules=["q_proj"], modules_to_save=["lm_haed"]), "did you mean 'lm_head'?"),
        # a block of layers: PEFT cannot adapt an attention module, and would say so in a traceback mid-build
        (True, dict(target_modules=["self_attn"]), "selects 'model.layers.0.self_attn' (Qwen2Attention), a block"),
        (True, dict(target_modules=r"model\.layers\.0\.mlp.*"), "selects 'model.layers.0.mlp' (Qwen2MLP)"),
        # the tied pair: the embedding adapted in training, both halves changed once merged
        (True, dict(target_modules=["embed_tokens"]), "tied embedding/output head"),
        (True, dict(target_modules=["q_proj"], modules_to_save=["lm_head"]), "tied embedding/output head"),
    ],
    ids=["typo", "empty-regex", "modules-to-save-typo", "block", "block-regex", "tied-embedding", "tied-head"],
)
def test_bad_targets_fail_with_one_line(tied, lora, fragment):
    with pytest.raises(ConfigError) as err:
        check_targets(_model(tied), _lora(**lora))
    assert fragment in str(err.value)
    assert "\n" not in str(err.value)
