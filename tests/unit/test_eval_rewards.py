"""`rlkd eval` scores with the run's own rewards: its configured accuracy reward (answer style, a judge, a plug-in)
and custom rewards by name, through the one resolution (rlkd.training.rewards.resolve_reward).

The input that broke it (issue 13): a run trained with `accuracy` under `answer: last_number` (bare-number
answers) was evaluated with the built-in math-verify defaults, so every bare `42` scored 0 in eval.json."""

import pytest

from rlkd.commands.eval import accuracy_reward_name, score_mode
from rlkd.config import ConfigError, parse_config
from rlkd.training.rewards import close_rewards, resolve_reward

PLUGIN = """
from rewards import register_reward


@register_reward("shouty")
def make_shouty(threshold: int = 1):
    def shouty(completions, **kwargs):
        return [1.0 if sum(ch.isupper() for ch in c) >= threshold else 0.0 for c in completions]
    return shouty


def echo_column(completions, difficulty, **kwargs):
    return [float(d) for d in difficulty]
"""


def _cfg(tmp_path, rewards, **sections):
    return parse_config(
        {
            "model": {"name_or_path": "m"},
            "data": {"path": "d.jsonl"},
            "rewards": rewards,
            "plugins": ["eval_plugin_mod"],
            "grpo": {"output_dir": str(tmp_path / "out")},
            **sections,
        }
    )


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    import rewards.registry as reg

    (tmp_path / "eval_plugin_mod.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    # the plug-in's @register_reward must not outlive the test (a later test registers its own 'shouty')
    monkeypatch.setattr(reg, "_REGISTRY", dict(reg._REGISTRY))


def test_eval_scores_with_the_runs_accuracy_spec_and_extra_rewards(tmp_path, plugin):
    cfg = _cfg(
        tmp_path,
        [
            {"name": "accuracy", "args": {"answer": "last_number"}},
            {"name": "shouty", "weight": 0.1, "args": {"threshold": 2}},
            {"name": "eval_plugin_mod:echo_column", "weight": 0.0},
        ],
        eval={"rewards": ["shouty", "echo_column"]},  # the second by the name it logs under
    )
    accuracy = resolve_reward(cfg, accuracy_reward_name(cfg))
    fmt = resolve_reward(cfg, "format")
    extra = {name: resolve_reward(cfg, name) for name in cfg.eval.rewards}
    greedy = [("42", 2), ("The answer is 7", 5)]
    samples = [[("42", 2)], [("8", 1)]]
    out = score_mode(
        greedy, samples, [[], []], ["42", "7"], [False, False], accuracy, fmt, [1],
        columns={"difficulty": [0.25, 0.75]}, extra=extra,
    )  # fmt: skip
    # bare numbers are right under the run's last_number style (the built-in default would give 0.0 to both)
    assert out["accuracy"] == 1.0 and out["pass@1"] == 0.5  # one sample of two right: 42 yes, 8 no
    # shouty with the run's threshold 2: "42" has no capitals, "The answer is 7" one → both 0 (threshold 1: 0.5)
    assert out["reward/shouty"] == 0.0
    assert out["reward/echo_column"] == 0.5  # the dataset column reached the reward: mean(0.25, 0.75)
    close_rewards([accuracy, fmt, *extra.values()])


def test_the_accuracy_reward_is_the_runs_correctness_reward(tmp_path, plugin):
    # a run whose correctness reward is a plug-in (curriculum.reward) is evaluated with it, not with math-verify
    cfg = _cfg(tmp_path, [{"name": "shouty"}], curriculum={"reward": "shouty"})
    assert accuracy_reward_name(cfg) == "shouty"
    assert accuracy_reward_name(_cfg(tmp_path, [{"name": "shouty"}], eval={"reward": "accuracy"})) == "accuracy"


def test_a_required_reward_missing_from_the_run_is_an_error(tmp_path, plugin):
    cfg = _cfg(tmp_path, [{"name": "accuracy"}])
    with pytest.raises(
        ConfigError, match=r"curriculum.reward 'shouty' is not one of the run's rewards \['accuracy'\]"
    ):
        resolve_reward(cfg, "shouty", required_by="curriculum.reward")
