"""math-verify with a time limit that holds in any thread.

math-verify enforces its own timeouts with signal.alarm, which only works in the main thread, so TRL turns them
off elsewhere and one pathological answer (`\\boxed{9^{9^{9^{9}}}}`) can hang a run. Here each verification runs
in a worker process that is killed when it overruns; the verdict is then 0.0.

The extraction settings match trl.rewards.accuracy_reward, so verdicts are the same on the same answers.
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Sequence

_SKIP = None


def _parse_gold(solution: str):
    from math_verify import parse

    return parse(solution, parsing_timeout=None)


def _parse_answer(answer: str):
    from latex2sympy2_extended import NormalizationConfig
    from math_verify import LatexExtractionConfig, parse

    config = LatexExtractionConfig(
        normalization_config=NormalizationConfig(units=True), boxed_match_priority=0, try_extract_without_anchor=False
    )
    return parse(answer, extraction_config=[config], extraction_mode="first_match", parsing_timeout=None)


def verify_pair(solution: str, answer: str | None) -> float | None:
    """One verdict, without a time limit: None for an unparseable solution, 0.0 for no answer."""
    from math_verify import verify

    gold = _parse_gold(solution)
    if not gold:
        return _SKIP
    if answer is None:
        return 0.0
    return float(verify(gold, _parse_answer(answer), timeout_seconds=None))


def _worker(conn) -> None:
    import logging

    logging.getLogger("math_verify").setLevel(logging.ERROR)
    while True:
        job = conn.recv()
        if job is None:
            return
        try:
            conn.send(verify_pair(*job))
        except Exception:  # a crash inside math-verify is a failed verification, not a failed run
            conn.send(0.0)


class Verifier:
    """Scores (solution, answer) pairs in killable worker processes, each pair within `timeout` seconds."""

    def __init__(self, timeout: float = 5.0, workers: int | None = None):
        self.timeout = timeout
        self.workers = workers or 1
        self._procs: list = []

    def _spawn(self):
        ctx = mp.get_context("spawn")  # fork is unsafe once torch threads or a vLLM engine exist
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_worker, args=(child,), daemon=True)
        proc.start()
        child.close()
        return proc, parent

    def _get(self):
        if not self._procs:
            self._procs.append(self._spawn())
        return self._procs[0]

    def _kill(self, slot) -> None:
        proc, conn = slot
        proc.kill()
        proc.join()
        conn.close()
        self._procs.remove(slot)

    def score(self, solutions: Sequence[str], answers: Sequence[str | None]) -> list[float | None]:
        cache: dict[tuple[str, str | None], float | None] = {}
        out = []
        for sol, ans in zip(solutions, answers):
            key = (sol, ans)
            if key not in cache:
                cache[key] = self._one(sol, ans)
            out.append(cache[key])
        return out

    def _one(self, solution: str, answer: str | None) -> float | None:
        slot = self._get()
        proc, conn = slot
        conn.send((solution, answer))
        if conn.poll(self.timeout):
            return conn.recv()
        self._kill(slot)
        return 0.0

    def close(self) -> None:
        for slot in list(self._procs):
            self._kill(slot)
