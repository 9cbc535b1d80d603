"""A tiny GRPO run survives every kind of hostile plug-in reward at once: `rlkd train` exits 0 with its final model
saved, each fault is counted per step in metrics.jsonl and logged once, hangs are cut at their deadline, and a
reward that opts out (`isolate: false`) runs in the trainer's own process.

Before isolation, any one of these ended the run: os._exit(1) with exit 1, SIGSEGV with -11, sys.exit(0) with exit
0 and no final model, a raised KeyboardInterrupt or a closed stderr with a traceback; the regex backtracking and the
async reward blocking its loop hung it with no timeout firing. (The other hostile kinds — a big integer power, an
awaitable that never resolves, every fd closed, a memory cap — are covered against the wrapper in
tests/unit/test_reward_isolation.py.)
"""

import os
import subprocess
import sys

import yaml

from rlkd.io import read_jsonl
from tests.conftest import REPO
from tests.unit.test_reward_isolation import HOSTILE

# The unit tests' hostile plug-in, plus two rewards that record which process scored them.
PLUGIN = (
    HOSTILE
    + """

def _where(pid_file):
    with open(pid_file, "a") as f:
        f.write(f"{os.getpid()}\\n")


def in_process(completions, pid_file, **kw):
    _where(pid_file)
    return [0.0] * len(completions)


def isolated(completions, pid_file, **kw):
    _where(pid_file)
    return [0.0] * len(completions)
"""
)
CRASHES = {"exits": "exited with status 1", "segfaults": "killed by SIGSEGV", "sys_exits": "exited with status 0"}
CRASHES["interrupts"] = "killed by SIGINT"
HANGS = ["backtracks", "blocks_its_loop"]
DEADLINE_S = 1.5
STEPS = 2
BATCH = 8  # completions per step in the tiny config: 2 prompts x 4 generations


def test_a_run_with_every_hostile_reward_finishes_with_its_model(tiny_config, tmp_path):
    (tmp_path / "hostile.py").write_text(PLUGIN)
    raw = yaml.safe_load(tiny_config.read_text())
    pids = {name: tmp_path / f"{name}.pids" for name in ("in_process", "isolated")}
    raw["rewards"] += [{"name": f"hostile:{name}", "weight": 0.0} for name in [*CRASHES, "closes_stderr"]]
    raw["rewards"] += [{"name": f"hostile:{name}", "weight": 0.0, "batch_timeout": DEADLINE_S} for name in HANGS]
    raw["rewards"] += [
        {"name": "hostile:in_process", "weight": 0.0, "isolate": False, "args": {"pid_file": str(pids["in_process"])}},
        {"name": "hostile:isolated", "weight": 0.0, "args": {"pid_file": str(pids["isolated"])}},
    ]
    raw["grpo"]["max_steps"] = STEPS
    raw["wandb"] = {"mode": "disabled"}
    config = tmp_path / "hostile.yaml"
    config.write_text(yaml.safe_dump(raw))

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(tmp_path)])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "rlkd.cli", "train", str(config)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr[-3000:]
    out = tmp_path / "run"
    assert (out / "model.safetensors").exists()  # the final model: sys.exit(0) used to end the run before it

    steps = [r for r in read_jsonl(out / "metrics.jsonl") if "loss" in r]
    assert [r["step"] for r in steps] == list(range(1, STEPS + 1))
    for r in steps:
        assert "rewards/accuracy/mean" in r  # the built-ins scored every batch
        for name in CRASHES:  # one dead worker per batch, every sample skipped
            assert r[f"rewards/{name}/crashes"] == 1.0 and r[f"rewards/{name}/errors"] == BATCH, name
        for name in HANGS:  # cut at the deadline
            assert r[f"rewards/{name}/timeouts"] == 1.0 and r[f"rewards/{name}/errors"] == BATCH, name
        assert r["rewards/closes_stderr/errors"] == 0  # its worker lost stderr; its values still arrived
    for name, how in CRASHES.items():  # logged once over the run, saying how the worker died
        lines = [line for line in stderr.splitlines() if f"reward '{name}': its worker process" in line]
        assert len(lines) == 1 and how in lines[0], (name, lines)

    # the opt-out ran in the trainer's process, the default in a worker of its own
    in_process = set(pids["in_process"].read_text().split())
    isolated = set(pids["isolated"].read_text().split())
    assert in_process == {str(proc.pid)}
    assert len(isolated) == 1 and isolated != in_process
