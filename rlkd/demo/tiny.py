"""A tiny student built locally: byte-level tokenizer with a chat template, a small Qwen2, random init.

Nothing in tests, CI or the demo may download weights, so `rlkd tiny-model OUT_DIR` writes a complete
`from_pretrained` directory in about a second. Design choices:
- byte-level with no merges: every string round-trips, and arithmetic is one token per character;
- `<think>` and `</think>` are single tokens but *not special*: TRL decodes completions with
  skip_special_tokens=True, and special tags would vanish before any reward sees them;
- role markers and the end-of-turn token are special, so they do vanish from decoded completions;
- tied input/output embeddings, like the small Qwen/Llama students people distil into (and the case that needs
  the full state dict for vLLM weight sync);
- head_dim 64, a size every vLLM attention backend supports.
"""

from __future__ import annotations

from pathlib import Path

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
PAD, EOS = "<|pad|>", "<|end|>"
ROLES = ("system", "user", "assistant")

# Messages are <|role|>content<|end|>; a generation prompt opens the assistant turn.
CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{{ '<|' + message['role'] + '|>' + message['content'] + '<|end|>' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<|assistant|>' }}{%- endif -%}"
)


def build_tokenizer():
    """The byte-level tokenizer as a transformers fast tokenizer."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = [PAD, EOS, *(f"<|{r}|>" for r in ROLES)]
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {tok: i for i, tok in enumerate(specials + alphabet)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in (THINK_OPEN, THINK_CLOSE)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token=PAD, eos_token=EOS, model_max_length=1024)
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_model(
    tokenizer,
    *,
    hidden_size: int = 128,
    layers: int = 2,
    heads: int = 2,
    kv_heads: int = 1,
    intermediate_size: int = 256,
    max_positions: int = 512,
    seed: int = 0,
):
    """A randomly initialised Qwen2 causal LM sized for the tokenizer."""
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=intermediate_size,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        max_position_embeddings=max_positions,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config)
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id
    )
    return model


def save_tiny_model(out_dir: str | Path, **model_kwargs) -> Path:
    """Write tokenizer + random-init model to `out_dir` (a `from_pretrained` directory) and return it."""
    out = Path(out_dir)
    tokenizer = build_tokenizer()
    model = build_model(tokenizer, **model_kwargs)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
