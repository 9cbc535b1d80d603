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
