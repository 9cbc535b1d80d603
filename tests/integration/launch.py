"""Starting rlkd on two CPU processes from a test, the way users launch it: `accelerate launch` on a free port.

On a CPU box the launch is torchrun's (`--multi_gpu`, or an FSDP config file) with `grpo.use_cpu=true` in the rlkd
config, which makes accelerate choose gloo (`--cpu` alone starts a single process). Each rank gets one thread
(OMP_NUM_THREADS=1): the box is shared, and two ranks spinning on two cores each only slow each other down."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LAUNCH_TIMEOUT = 900  # seconds: two ranks, a vLLM engine each, on a 2-core box other jobs share


def free_port() -> int:
    with socket.socket() as s:  # other jobs share this box: never assume a fixed port is free
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def accelerate_launch(
    *args: str, config_file: str | Path | None = None, env_extra: dict | None = None, processes: int = 2
) -> subprocess.CompletedProcess:
    """`accelerate launch ... ARGS` with `processes` CPU ranks; ARGS is a script path or `-m module`, then its
    arguments. With `config_file` the launch config (e.g. FSDP) comes from that file, else plain data parallel."""
    mode = ["--config_file", str(config_file)] if config_file is not None else ["--multi_gpu"]
    cmd = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        *mode,
        "--num_processes",
        str(processes),
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        "--main_process_port",
        str(free_port()),
        *args,
    ]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    env.update(OMP_NUM_THREADS="1", **(env_extra or {}))
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=LAUNCH_TIMEOUT)
