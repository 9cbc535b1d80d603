"""The tiny local student: think tags survive TRL's decoding, the chat template renders, the model runs."""

import torch

from rlkd.demo.tiny import EOS, THINK_CLOSE, THINK_OPEN


def test_think_tags_survive_skip_special_tokens(tiny_model_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    text = f"{THINK_OPEN}3+4=7{THINK_CLOSE}\\boxed{{7}}{EOS}"
    ids = tok(text, add_special_tokens=False).input_ids
    # <think> and </think> are single tokens...
    assert tok.convert_tokens_to_ids(THINK_OPEN) in ids and tok.convert_tokens_to_ids(THINK_CLOSE) in ids
    # ...that TRL's decode (skip_special_tokens=True) keeps, while the end-of-turn token disappears.
    assert tok.decode(ids, skip_special_tokens=True) == f"{THINK_OPEN}3+4=7{THINK_CLOSE}\\boxed{{7}}"


def test_chat_template_and_round_trip(tiny_model_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    messages = [{"role": "system", "content": "detailed thinking off"}, {"role": "user", "content": "Compute 2+2."}]
    rendered = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert rendered == "<|system|>detailed thinking off<|end|><|user|>Compute 2+2.<|end|><|assistant|>"
    # byte-level: any text round-trips, one token per ASCII character
    assert tok.decode(tok("héllo, wörld ∑ 12").input_ids) == "héllo, wörld ∑ 12"
    assert len(tok("12345", add_special_tokens=False).input_ids) == 5


def test_model_is_small_tied_and_runs(tiny_model_dir):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    assert model.config.tie_word_embeddings
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    assert sum(p.numel() for p in model.parameters()) < 1_000_000
    logits = model(torch.tensor([[1, 2, 3]])).logits
    assert logits.shape == (1, 3, model.config.vocab_size)
    assert torch.isfinite(logits).all()
