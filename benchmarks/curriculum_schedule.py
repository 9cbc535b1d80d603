"""Does the Gaussian schedule hold over many passes? The batch's estimated pass rate against the schedule's target,
rlkd's reuse rule vs the one-pass rule ("no prompt twice before every prompt once") as the baseline, same pool,
same schedule, in the same run. Pure curricula/: no model, seconds.

    PYTHONPATH=. python benchmarks/curriculum_schedule.py
    PYTHONPATH=. python benchmarks/curriculum_schedule.py --pass-rates runs/demo/passrate.jsonl   # a real pool

Prints, per rule: the 95th percentile and max of |batch estimate mean - target mean| over the run, how far the
draws per prompt differ within a level (max - min), and the range of draws per prompt over the pool. The goal
(issue 11): p95 <= 0.08 on a 600-prompt pool over ~10 passes.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from curricula import GaussianCurriculum, pass_rate_filter
from curricula.pool import PassPool

# A 600-prompt pool after the demo's filter (8-sample pass rates 1/8 .. 5/8; the easy end is the smallest level).
SYNTHETIC = {1 / 8: 200, 2 / 8: 130, 3 / 8: 100, 4 / 8: 90, 5 / 8: 80}


class OnePassGaussian(GaussianCurriculum):
    """The baseline: the same targets and allocation, over only the prompts unused in the current pass."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._pool = PassPool(self.num_prompts)

    def _draw(self, n, exclude):
        return self._pool.draw(n, self._allocate)


def run(cls, rates: np.ndarray, batch: int, batches: int, sigma: float, seed: int) -> dict:
    cur = cls(rates, batch_size=batch, num_batches=batches, sigma=sigma, seed=seed)
    gaps, uses = [], np.zeros(len(rates), dtype=int)
    for drawn in cur:
        m = cur.metrics()
        gaps.append(abs(m["batch_estimate_mean"] - m["target_mean"]))
        uses[drawn] += 1
    levels, level_of = cur.current_levels()
    spread = max(int(np.ptp(uses[level_of == lv])) for lv in range(len(levels)))
    return {"p95": float(np.percentile(gaps, 95)), "max": float(max(gaps)), "spread": spread, "uses": uses}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pass-rates", help="an `rlkd passrate` JSONL (filtered like the demo: 0 < rate < 0.75)")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--batches", type=int, default=400)
    p.add_argument("--sigma", type=float, default=0.1)
    p.add_argument("--seeds", default="0,1,2")
    args = p.parse_args(argv)
    if args.pass_rates:
        rows = [json.loads(line) for line in open(args.pass_rates) if line.strip()]
        raw = np.array([np.nan if r["pass_rate"] is None else r["pass_rate"] for r in rows])
        rates = raw[pass_rate_filter(raw, 0.75, 0.0, keep_unknown=False).keep]
    else:
        rates = np.concatenate([np.full(c, r) for r, c in SYNTHETIC.items()])
    passes = args.batch * args.batches / len(rates)
    print(
        f"pool {len(rates)} prompts, {args.batches} batches of {args.batch} ({passes:.1f} passes), sigma {args.sigma}"
    )
    for name, cls in (("one-pass rule (baseline)", OnePassGaussian), ("rlkd reuse rule", GaussianCurriculum)):
        res = [run(cls, rates, args.batch, args.batches, args.sigma, int(s)) for s in args.seeds.split(",")]
        p95 = [r["p95"] for r in res]
        print(
            f"{name:<26} p95 |batch - target| {min(p95):.3f}..{max(p95):.3f}  max {max(r['max'] for r in res):.3f}  "
            f"within-level spread <= {max(r['spread'] for r in res)}  draws per prompt "
            f"{min(r['uses'].min() for r in res)}..{max(r['uses'].max() for r in res)}  ({len(res)} seeds)"
        )


if __name__ == "__main__":
    main()
