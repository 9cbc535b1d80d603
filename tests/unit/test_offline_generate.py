"""rlkd.generation.offline: the one generate outside GRPO steps honours every generation setting, is reproducible by
seed, and leaves training's random stream alone (the tiny student, built in a fixture)."""

import pytest
import torch

from rlkd.config import GenerationConfig, ModelConfig
from rlkd.generation.offline import Sampling, TransformersGenerator
from rlkd.model import load_policy

PROMPTS = [[{"role": "user", "content": f"{i}+{i}="}] for i in range(3)]


@pytest.fixture
def policy(tiny_model_dir):
    return load_policy(ModelConfig(name_or_path=str(tiny_model_dir)))


def _spy(model, seen):
    real = model.generate

    def generate(**kwargs):
        seen.append(kwargs["generation_config"])
        return real(**kwargs)

    model.generate = generate


def test_sampling_from_config_takes_every_setting_and_none_keeps_the_runs():
    gen = GenerationConfig(
        temperature=0.7, top_p=0.9, top_k=5, min_p=0.05, repetition_penalty=1.2, max_completion_length=40
    )
    assert Sampling.from_config(gen, n=4, top_p=None, max_new_tokens=12) == Sampling(
        n=4, temperature=0.7, top_p=0.9, top_k=5, min_p=0.05, repetition_penalty=1.2, max_new_tokens=12
    )


@pytest.mark.parametrize(
    "sampling, expected",
    [
        # sampled: every filter reaches transformers (eval once hard-coded top_k=0 and dropped min_p and the penalty)
        (
            Sampling(n=2, temperature=0.7, top_p=0.9, top_k=5, min_p=0.05, repetition_penalty=1.2, max_new_tokens=6),
            dict(do_sample=True, temperature=0.7, top_p=0.9, top_k=5, min_p=0.05, repetition_penalty=1.2),
        ),
        # greedy: no sampling filters, but the repetition penalty still shapes the distribution it takes the max of
        (
            Sampling(greedy=True, top_k=5, repetition_penalty=1.2, max_new_tokens=6),
            dict(do_sample=False, repetition_penalty=1.2),
        ),
    ],
)
def test_transformers_generator_passes_every_setting(policy, sampling, expected):
    model, tokenizer = policy
    seen = []
    _spy(model, seen)
    outs = TransformersGenerator(model, tokenizer, batch_size=4).generate(PROMPTS, sampling, seed=0)
    assert [len(group) for group in outs] == [sampling.n] * len(PROMPTS)
    assert all(1 <= tokens <= 6 for group in outs for _, tokens in group)  # at most max_new_tokens
    config = seen[0]
    assert {k: getattr(config, k) for k in expected} == expected
    assert config.max_new_tokens == 6 and config.num_return_sequences == sampling.n
    # batch_size counts sequences: 4 per call at n=2 is 2 prompts a call, so 3 prompts take 2 calls
    assert len(seen) == (2 if sampling.n == 2 else 1)


def test_same_seed_same_samples_and_training_rng_untouched(policy):
    model, tokenizer = policy
    model.train()  # as a policy is when an evaluation callback samples from it mid-run
    generator = TransformersGenerator(model, tokenizer)
    sampling = Sampling(n=3, max_new_tokens=8)
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    first = generator.generate(PROMPTS, sampling, seed=7)
    assert torch.equal(torch.random.get_rng_state(), before)  # a forked RNG: training's stream does not move
    assert generator.generate(PROMPTS, sampling, seed=7) == first
    assert generator.generate(PROMPTS, sampling, seed=8) != first
    assert model.training  # sampled in eval mode, then handed back in train mode


MANY = [[{"role": "user", "content": f"{i}+{2 * i}="}] for i in range(6)]
SAMPLED = Sampling(n=3, temperature=1.0, max_new_tokens=8)


def test_per_prompt_seeds_draw_the_same_whatever_the_batch(policy):
    # What a resumed `rlkd passrate` relies on: its batches start wherever a kill left off, so a prompt must draw
    # the same completions in any batch, any position, any number of prompts per call.
    model, tokenizer = policy
    seeds = [100 + i for i in range(len(MANY))]
    whole = TransformersGenerator(model, tokenizer, batch_size=18).generate(MANY, SAMPLED, seed=seeds)
    split = TransformersGenerator(model, tokenizer, batch_size=6).generate(MANY[3:], SAMPLED, seed=seeds[3:])
    alone = [TransformersGenerator(model, tokenizer).generate([p], SAMPLED, seed=[s])[0] for p, s in zip(MANY, seeds)]
    assert whole[3:] == split and whole == alone
    assert len({text for group in whole for text, _ in group}) > len(MANY)  # sampled, not the same text throughout
    other = TransformersGenerator(model, tokenizer).generate(MANY[:1], SAMPLED, seed=[7])
    assert other != whole[:1]  # the seed matters


def test_per_prompt_sampling_keeps_the_sampling_filters(policy):
    # top_k=1 leaves one token: a per-prompt draw then equals greedy decoding, whatever the seed
    model, tokenizer = policy
    gen = TransformersGenerator(model, tokenizer)
    greedy = gen.generate(MANY[:2], Sampling(greedy=True, max_new_tokens=8), seed=0)
    top1 = gen.generate(MANY[:2], Sampling(n=1, top_k=1, max_new_tokens=8), seed=[5, 6])
    assert top1 == greedy


def test_per_prompt_sampling_draws_from_the_models_distribution(policy):
    # The first token's frequencies over 4000 per-prompt draws match the model's softmax at temperature 0.7 (within
    # 4 standard errors, per token): the inverse-CDF draw samples that distribution, it does not bias it.
    from rlkd.generation.offline import _PromptStreams
    from rlkd.model import render_prompts

    model, tokenizer = policy
    temperature, n = 0.7, 4000
    enc = tokenizer(render_prompts(tokenizer, MANY[:1]), return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        logits = model(**enc).logits[0, -1]
    probs = torch.softmax(logits / temperature, dim=-1)
    picked = _PromptStreams([11], Sampling(n=n, temperature=temperature))(None, logits.expand(n, -1).clone())
    assert torch.all(torch.isinf(picked).sum(-1) == logits.shape[-1] - 1)  # one token left per row
    freq = torch.bincount(picked.argmax(-1), minlength=logits.shape[-1]) / n
    assert torch.all((freq - probs).abs() <= 4 * (probs * (1 - probs) / n).sqrt() + 1e-3)
