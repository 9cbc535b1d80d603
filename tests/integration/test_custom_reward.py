"""A custom reward in a user module, named in a YAML config, trains in the tiny config.

The module and the config lines are taken from docs/rewards.md ("Write your own reward"), so the documented
example is the one that is tested. A second user reward, named as module:function, records what TRL passes it.
"""

import json
import math
import re
from pathlib import Path

import yaml

from rlkd.commands.train import run_training
from rlkd.config import load_config
from rlkd.io import read_jsonl

DOC = Path(__file__).resolve().parents[2] / "docs" / "rewards.md"

RECORDER = '''
import json


def record(completions, solution, thinking, log_path, **kwargs):
    """Scores 1.0 and writes down what it was given, one line per batch."""
    with open(log_path, "a") as f:
        f.write(json.dumps({"n": len(completions), "solution": len(solution), "thinking": thinking,
                            "keys": sorted(kwargs)}) + "\\n")
    return [1.0] * len(completions)
'''


def _doc_example() -> tuple[str, dict]:
    section = DOC.read_text().split("## Write your own reward", 1)[1]
    python = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    config = yaml.safe_load(re.search(r"```yaml\n(.*?)```", section, re.S).group(1))
    return python, config


def test_doc_example_and_module_function_reward_train(tiny_config, tmp_path, monkeypatch):
    python, doc_config = _doc_example()
    assert len(python.strip().splitlines()) <= 10  # the docs promise a ten-line example
    (tmp_path / "my_rewards.py").write_text(python)
    (tmp_path / "my_recorder.py").write_text(RECORDER)
    monkeypatch.syspath_prepend(str(tmp_path))
    log_path = tmp_path / "calls.jsonl"

    raw = yaml.safe_load(tiny_config.read_text())
    raw["plugins"] = doc_config["plugins"]
    raw["rewards"] = doc_config["rewards"] + [
        {"name": "my_recorder:record", "weight": 0.0, "args": {"log_path": str(log_path)}}
    ]
    config = tmp_path / "custom.yaml"
    config.write_text(yaml.safe_dump(raw))
    out = run_training(load_config(config))

    steps = [r for r in read_jsonl(out / "metrics.jsonl") if "loss" in r]
    assert [r["step"] for r in steps] == [1, 2, 3]
    for r in steps:
        # 24-token completions are far below 200 characters: every one is brief
        assert r["rewards/brevity/mean"] == 1.0 and r["rewards/brevity/errors"] == 0
        assert r["rewards/record/mean"] == 1.0 and r["rewards/record/errors"] == 0
        # the total is what TRL optimises: accuracy*1.0 + format*0.5 + brevity*0.2 + record*0.0
        expected = r["rewards/accuracy/mean"] + 0.5 * r["rewards/format/mean"] + 0.2
        assert math.isclose(r["reward"], expected, abs_tol=1e-4)

    calls = [json.loads(line) for line in log_path.read_text().splitlines()]
    assert len(calls) == 3  # one generation batch per step: 8 completions = 2 prompts x 4 generations
    for call in calls:
        assert call["n"] == call["solution"] == 8
        assert all(isinstance(t, bool) for t in call["thinking"])  # the dataset's mode column reaches rewards
        assert {"prompts", "completion_ids", "trainer_state", "log_metric"} <= set(call["keys"])
