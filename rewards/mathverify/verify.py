"""math-verify, fast and with a time limit that holds in any thread and any process.

math-verify enforces its own timeouts with signal.alarm, which only works in the main thread, so TRL switches them
off elsewhere, and one pathological answer (`\\boxed{9^{9^{9^{9}}}}`) can hang a multi-day run. Here every
verification runs in a pool of killable worker processes (rewards.isolation.pool) with a hard per-sample limit:
an answer that overruns scores 0.0, a solution that overruns is treated as unparseable (None).

Fast, because a GRPO batch is G completions per prompt and the completions of a group repeat their final answers:
- the work is grouped by solution, so each worker parses a gold answer once per group (and caches it);
- each distinct (solution, answer) pair is verified once per batch, its verdict shared by every duplicate, and
  answers that parse to the same expressions share one verification;
- LaTeX is parsed with ANTLR's two-stage SLL/LL strategy, which yields the same parse trees (see worker.py);
- groups are spread over the workers, largest first.

The extraction settings match trl.rewards.accuracy_reward, so verdicts are the same on the same answer text.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

from rewards.isolation.pool import Job, Stall, WorkerPool

_WORKER = Path(__file__).with_name("worker.py")
_MAX_DEFAULT_WORKERS = 8
_SLOW_GOLD_MEMORY = 10_000


def default_workers() -> int:
    """One worker per usable core, at most 8 (each holds sympy, ~150 MB)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(_MAX_DEFAULT_WORKERS, cores))


class Verifier:
    """Scores (solution, answer) pairs with math-verify, each pair within `timeout` seconds.

    Worker processes start on the first `score` call (never at import) and stop at `close()` or interpreter exit.
    """

    def __init__(
        self,
        timeout: float = 5.0,
        workers: int | None = None,
        start_timeout: float = 120.0,
        soft_limit: bool = True,
        fast_latex: bool = True,
    ):
        if not timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds, got {timeout}")
        self.timeout = timeout
        # The worker's own (signal) limit fires first, so an ordinary slow case costs no process restart; without
        # it (soft_limit=False, for tests) every overrun is a kill.
        soft = max(timeout - 0.5, 0.8 * timeout) if soft_limit else 0.0
        args = [f"{soft:.3f}", str(int(fast_latex))]  # fast_latex: see worker._two_stage_latex_parsing
        self.pool = WorkerPool(_WORKER, args, workers or default_workers(), timeout, start_timeout)
        self.timeouts = 0  # samples cut by the time limit since the last take_metrics()
        self._slow_golds: set[str] = set()
        self.last_batch: dict[str, int] = {}  # what the last score() sent to the workers (samples, golds, pairs)

    def score(self, solutions: Sequence[str], answers: Sequence[str | None]) -> list[float | None]:
        """One verdict per pair: None when the solution cannot be parsed, 0.0 for a missing answer (None)."""
        if len(solutions) != len(answers):
            raise ValueError(f"{len(solutions)} solutions but {len(answers)} answers")
        groups: dict[str, dict[str, None]] = {}  # gold -> its distinct answers, in order
        for gold, answer in zip(solutions, answers):
            distinct = groups.setdefault(gold, {})
            if answer is not None:
                distinct[answer] = None
        gold_ok: dict[str, bool] = {g: False for g in self._slow_golds.intersection(groups)}
        verdicts: dict[tuple[str, str], float] = {}

        def on_reply(job: Job, reply: dict) -> None:
            if "gold" in reply:  # a gold split over several jobs is usable only if every job could parse it
                gold_ok[job["gold"]] = gold_ok.get(job["gold"], True) and reply["gold"]
                self._note_timeout(job["gold"], reply["timeout"], in_gold=True)
            else:
                done = job.setdefault("done", 0)
                verdicts[(job["gold"], job["answers"][done])] = reply["v"]
                job["done"] = done + 1
                self._note_timeout(job["gold"], reply["timeout"])

        def on_stall(job: Job, replies: int, stall: Stall) -> Job | None:  # a timeout and a crash alike
            if replies == 0:  # the gold itself overran: treat it as unparseable
                gold_ok[job["gold"]] = False
                self._note_timeout(job["gold"], True, in_gold=True)
                return None
            stuck = replies - 1  # replies after the gold's are one per answer
            verdicts[(job["gold"], job["answers"][stuck])] = 0.0
            self._note_timeout(job["gold"], True)
            rest = job["answers"][stuck + 1 :]
            return {"gold": job["gold"], "answers": rest} if rest else None

        jobs = self._jobs({g: list(a) for g, a in groups.items() if g not in gold_ok})
        pairs = sum(len(j["answers"]) for j in jobs)
        self.last_batch = {"samples": len(answers), "golds": len({j["gold"] for j in jobs}), "pairs": pairs}
        self.pool.run(jobs, on_reply, on_stall)
        out: list[float | None] = []
        for gold, answer in zip(solutions, answers):
            if not gold_ok.get(gold, False):
                out.append(None)
            else:
                out.append(0.0 if answer is None else verdicts[(gold, answer)])
        return out

    def _jobs(self, groups: dict[str, list[str]]) -> list[Job]:
        """One job per group; large groups are split when there are too few groups to keep every worker busy."""
        total = sum(len(a) for a in groups.values())
        chunk = max(4, math.ceil(total / (2 * self.pool.size)))
        jobs = [
            {"gold": gold, "answers": answers[i : i + chunk]}
            for gold, answers in groups.items()
            for i in range(0, max(len(answers), 1), chunk)
        ]
        return sorted(jobs, key=lambda j: -len(j["answers"]))  # longest first: better balance across workers

    def _note_timeout(self, gold: str, timed_out: bool, in_gold: bool = False) -> None:
        if not timed_out:
            return
        self.timeouts += 1
        if in_gold:  # remembered, so later batches do not wait for it again
            if len(self._slow_golds) >= _SLOW_GOLD_MEMORY:
                self._slow_golds.clear()
            self._slow_golds.add(gold)

    def take_metrics(self) -> dict[str, float]:
        """Counters since the last call, for `rewards/<name>/<key>` metrics."""
        metrics = {"timeouts": float(self.timeouts)}
        self.timeouts = 0
        return metrics

    def close(self) -> None:
        self.pool.close()
