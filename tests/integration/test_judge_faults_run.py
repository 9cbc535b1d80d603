"""A GRPO run whose judge trickles and breaks the protocol: every step stays short, the run finishes, and the process
exits at once after it.

The judge server (tests/judge_server.py, real sockets on loopback) answers one request in three with a body trickled
a byte every 2 s, one in three with a garbage status line, the rest properly. The judge's request timeout (30 s) is
far longer than its batch deadline (3 s), and the reward's batch_timeout (60 s) longer still: before, a trickle held
each step for the whole batch_timeout, and the process waited out the abandoned requests after "run finished".
"""

import os
import subprocess
import sys
import time
from datetime import datetime

import pytest
import yaml

from rlkd.io import read_jsonl
from tests.conftest import REPO
from tests.judge_server import JudgeServer

BATCH_DEADLINE_S = 3


@pytest.fixture
def faulty_judge():
    server = JudgeServer(default=lambda n: ("trickle-body", "garbage", "yes")[n % 3])
    yield server
    server.close()


def test_a_trickling_broken_judge_keeps_steps_short_and_exit_prompt(tiny_config, tmp_path, faulty_judge):
    raw = yaml.safe_load(tiny_config.read_text())
    args = {
        "base_url": faulty_judge.url,
        "model": "m",
        "timeout": 30,
        "retries": 1,
        "batch_deadline": BATCH_DEADLINE_S,
    }
    raw["rewards"].append({"name": "judge", "weight": 0.1, "batch_timeout": 60, "args": args})
    raw["wandb"] = {"mode": "disabled"}
    raw["grpo"].update(output_dir=str(tmp_path / "run"), max_steps=2, save_steps=10, logging_steps=1)
    config = tmp_path / "judge.yaml"
    config.write_text(yaml.safe_dump(raw))

    proc = subprocess.run(
        [sys.executable, "-m", "rlkd.cli", "-v", "train", str(config)],  # -v: timestamped log lines
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    ended = time.time()
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr

    steps = [r for r in read_jsonl(tmp_path / "run" / "metrics.jsonl") if "reward" in r]
    assert len(steps) == 2
    # the judge's share of a step is at most its batch deadline; the rest is a tiny model's step on a shared box
    assert all(r["step_time"] < BATCH_DEADLINE_S + 15 for r in steps), [r["step_time"] for r in steps]
    assert sum(r["rewards/judge/abandoned"] for r in steps) > 0  # the trickles, cut at the batch deadline
    assert sum(r["rewards/judge/retries"] for r in steps) > 0  # the garbage replies, asked again
    assert all(r["rewards/judge/mean"] > 0 for r in steps)  # and the proper replies (yes: 1.0) still count

    finished = next(line for line in proc.stderr.splitlines() if "run finished" in line)
    stamp = datetime.strptime(finished[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
    assert ended - stamp < 10  # no wait for abandoned requests (their own deadline is 30 s)
