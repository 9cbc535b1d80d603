"""Per-mode training metrics: the pure per-mode means, and the `_calculate_rewards` hook on a stand-in trainer
(the real-TRL run is in tests/integration/test_mode_metrics_run.py)."""

import math
from collections import defaultdict

import pytest
import torch

from rlkd.training.mode_metrics import ModeMetricsMixin, per_mode_means, sample_mode

NAN = math.nan


@pytest.mark.parametrize(
    "columns, modes, expected",
    [
        # each mode averages only its own samples: on = (1+0)/2, off = 1/1
        ({"accuracy": [1.0, 0.0, 1.0]}, [True, True, False], {"modes/on/accuracy": 0.5, "modes/off/accuracy": 1.0}),
        # a None reward (NaN) is "cannot judge": left out of the mean, not counted as 0
        (
            {"accuracy": [1.0, NAN, 0.0, 0.0]},
            [True, True, False, False],
            {"modes/on/accuracy": 1.0, "modes/off/accuracy": 0.0},
        ),
        # a mode absent from the batch yields no key rather than 0 or NaN
        ({"format": [1.0, 0.0]}, [False, False], {"modes/off/format": 0.5}),
        # samples of unknown mode are left out of both
        (
            {"completion_length": [10.0, 30.0, 99.0]},
            [True, False, None],
            {"modes/on/completion_length": 10.0, "modes/off/completion_length": 30.0},
        ),
        # a column with only NaN for a mode yields no key for it
        ({"accuracy": [NAN, 1.0]}, [True, False], {"modes/off/accuracy": 1.0}),
    ],
)
def test_per_mode_means(columns, modes, expected):
    assert per_mode_means(columns, modes) == pytest.approx(expected)


@pytest.mark.parametrize(
    "row, prompt, expected",
    [
        ({"thinking": False}, [{"role": "system", "content": "detailed thinking on"}], False),  # the column wins
        ({}, [{"role": "system", "content": "detailed thinking off"}], False),  # else the prompt's marker
        ({}, [{"role": "user", "content": "2+2="}], None),  # neither: unknown, not silently "on"
    ],
)
def test_sample_mode(row, prompt, expected):
    assert sample_mode(row, prompt) == expected


class _StubTRL:
    """Stands in for GRPOTrainer: returns a fixed reward matrix and has the attributes the hook reads."""

    reward_func_names = ["accuracy", "format"]

    def __init__(self, rewards):
        self.rewards = rewards
        self._metrics = {"train": defaultdict(list), "eval": defaultdict(list)}
        self.model = torch.nn.Linear(1, 1)
        self.accelerator = type("Acc", (), {"gather": staticmethod(lambda t: t)})()  # one process
        self._pending_extra_logs = defaultdict(list)

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        return self.rewards

    def _log_completion_extra(self, column, values):  # as TRL's: a column of the completions table
        self._pending_extra_logs[column].extend(values)


class _Hooked(ModeMetricsMixin, _StubTRL):
    pass


def test_hook_logs_per_mode_metrics_and_returns_rewards_unchanged():
    rewards = torch.tensor([[1.0, 1.0], [0.0, 1.0], [1.0, 0.0], [NAN, 0.0]])  # (N=4, F=2)
    trainer = _Hooked(rewards)
    inputs = [{"thinking": True}, {"thinking": True}, {"thinking": False}, {"thinking": False}]
    ids = [[1] * 30, [1] * 20, [1] * 5, [1] * 7]
    out = trainer._calculate_rewards(inputs, [[]] * 4, ["c"] * 4, ids)
    assert out is rewards
    logged = {k: v[0] for k, v in trainer._metrics["train"].items() if len(v) == 1}
    assert len(logged) == len(trainer._metrics["train"])  # one value per key per scored batch
    # on: accuracy (1+0)/2, format (1+1)/2, length (30+20)/2; off: accuracy 1 (NaN skipped), format 0, length 6
    assert logged == pytest.approx(
        {
            "modes/on/accuracy": 0.5,
            "modes/on/format": 1.0,
            "modes/on/completion_length": 25.0,
            "modes/off/accuracy": 1.0,
            "modes/off/format": 0.0,
            "modes/off/completion_length": 6.0,
        }
    )
    assert trainer._pending_extra_logs["mode"] == ["on", "on", "off", "off"]  # the completions table's mode column


def test_hook_logs_under_eval_when_the_model_is_in_eval_mode():
    trainer = _Hooked(torch.tensor([[1.0, 1.0]]))
    trainer.model.eval()
    trainer._calculate_rewards([{"thinking": True}], [[]], ["c"], [[1, 2]])
    assert trainer._metrics["eval"]["modes/on/accuracy"] == [1.0] and not trainer._metrics["train"]
