"""CPU thread policy for rlkd on a small box: torch threads per process and OpenMP's wait policy, alone and with
other CPU-bound jobs running, on the demo's two hot loops (an SFT training step and GRPO-style sampling).

    PYTHONPATH=. python benchmarks/threads.py                 # alone, then with one CPU-bound job beside it
    PYTHONPATH=. python benchmarks/threads.py --busy 0,1,2    # with 0, 1 and 2 busy loops

Each setting runs in a fresh process (OpenMP reads OMP_WAIT_POLICY once, when torch loads it). The baseline is
torch's own default on the box (one thread per core, OpenMP's default active wait); every other setting prints its
time as a ratio to that baseline measured under the same load in the same run. Why it matters: with two threads
per process on two cores, a process whose threads spin-wait for each other while another job holds a core can run
an order of magnitude slower than its share (SFT ran 15x slower with two other jobs).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

SETTINGS = {  # name -> environment
    "default (torch: a thread per core, active wait)": {},
    "1 thread": {"OMP_NUM_THREADS": "1"},
    "2 threads, passive wait": {"OMP_NUM_THREADS": "2", "OMP_WAIT_POLICY": "PASSIVE"},
    "1 thread, passive wait": {"OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"},
    "rlkd's policy (rlkd.threads: the free cores)": {"BENCH_RLKD_POLICY": "1"},
}

WORKER = r"""
import json, os, sys, time, torch
if os.environ.get("BENCH_RLKD_POLICY"):
    from rlkd.threads import POLICY
    POLICY.adjust()
from rlkd.demo.tiny import build_model, build_tokenizer
shape = json.loads(sys.argv[1])
tok = build_tokenizer()
model = build_model(tok, **shape)
opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
ids = torch.randint(10, 200, (32, 48))
def sft_step():
    loss = model(input_ids=ids, labels=ids).loss
    loss.backward(); opt.step(); opt.zero_grad()
prompts = torch.randint(10, 200, (128, 12))
def sample():
    with torch.no_grad():
        model.generate(input_ids=prompts, attention_mask=torch.ones_like(prompts), do_sample=True,
                       max_new_tokens=24, min_new_tokens=24, pad_token_id=0)
out = {"threads": torch.get_num_threads()}
for name, fn, n in (("sft_step", sft_step, 20), ("sample", sample, 3)):
    fn()  # warm-up
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    out[name] = (time.perf_counter() - t0) / n
print(json.dumps(out))
"""


def measure(env: dict[str, str], shape: dict) -> dict:
    unset = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "RLKD_THREADS", "BENCH_RLKD_POLICY")
    full = {k: v for k, v in os.environ.items() if k not in unset}
    full.update(env)
    proc = subprocess.run(
        [sys.executable, "-c", WORKER, json.dumps(shape)], env=full, capture_output=True, text=True, timeout=900
    )
    if proc.returncode:
        raise RuntimeError(proc.stderr[-2000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--busy", default="0,1", help="numbers of CPU-bound busy loops running beside, e.g. 0,1,2")
    p.add_argument("--model-args", default="{}", help="tiny model shape as JSON (default: the demo's)")
    args = p.parse_args(argv)
    shape = json.loads(args.model_args)
    print(f"cores: {os.cpu_count()}, load before: {os.getloadavg()[0]:.2f}, model shape: {shape or 'demo default'}")
    for busy in [int(b) for b in args.busy.split(",")]:
        loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(busy)]
        try:
            time.sleep(1.0 if busy else 0.0)
            base = None
            for name, env in SETTINGS.items():
                r = measure(env, shape)
                base = base or r
                print(
                    f"busy {busy}  {name:<48} threads {r['threads']}  sft step {r['sft_step'] * 1e3:7.1f} ms "
                    f"(x{base['sft_step'] / r['sft_step']:.2f})  sample {r['sample']:6.2f} s "
                    f"(x{base['sample'] / r['sample']:.2f})",
                    flush=True,
                )
        finally:
            for loop in loops:
                loop.kill()
    print("x > 1: faster than the default under the same load")


if __name__ == "__main__":
    main()
