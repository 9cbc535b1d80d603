"""How many threads torch uses on the CPU: the cores nothing else is using, re-checked while a stage runs.

Why: torch takes one thread per core and OpenMP's threads spin-wait for each other. Alone that is fastest (the
demo's SFT step 1.5x faster with 2 threads than 1 on 2 cores), but beside one other CPU-bound process the same
2 threads ran 2.1-2.3x slower than 1 thread, and beside two 3-10x slower (benchmarks/threads.py, two runs in
docs/benchmarks.md): a spinning thread waits for a sibling that is descheduled. So rlkd counts the cores other
processes keep busy (/proc/stat minus this process's own CPU time) and uses the rest, at least one. Two adaptive
processes settle at a fair share: each sees the other using about half the box. Ranks of one launch split the
cores between them. rlkd.training.tracking.ThreadPolicyCallback re-checks between optimizer steps, the offline
generator per batch.

`RLKD_THREADS=N` (or `OMP_NUM_THREADS`) pins the count and turns this off. The thread count can change float
summation order, and so results: on a 2-core AMD EPYC box 1 and 2 threads trained the demo's model bit-identically,
on a 2-core Intel Xeon box they did not (100 SFT steps, different weights; the demo's student under load was on
0.574 / off 0.092, idle 0.586 / 0.111). A run that must reproduce bit for bit under changing load should pin it.
"""

from __future__ import annotations

import logging
import math
import os
import time
from pathlib import Path

logger = logging.getLogger(__name__)

RECHECK_SECONDS = 30.0  # long enough to average over a few steps, short enough to follow a job that starts later
FIRST_WINDOW_SECONDS = 0.3


def _cores() -> int:
    """Cores this process may run on: its CPU affinity, capped by a cgroup v2 quota, split between local ranks."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if quota != "max":
            cores = min(cores, max(1, math.floor(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    ranks = int(os.environ.get("LOCAL_WORLD_SIZE", "1") or 1)
    return max(1, cores // max(1, ranks))


def _busy_ticks() -> int | None:
    """Busy jiffies summed over the CPUs this process may use (None off Linux)."""
    allowed = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    try:
        lines = Path("/proc/stat").read_text().splitlines()
    except OSError:
        return None
    busy = 0
    for line in lines:
        name, *fields = line.split()
        if not name.startswith("cpu") or name == "cpu":
            continue
        if allowed is not None and int(name[3:]) not in allowed:
            continue
        values = [int(v) for v in fields[:8]]  # user nice system idle iowait irq softirq steal
        busy += sum(values) - values[3] - values[4]
    return busy


class ThreadPolicy:
    """Keeps torch's thread count at the cores left free by other processes; `adjust()` at most once a period."""

    def __init__(self) -> None:
        pinned = os.environ.get("RLKD_THREADS", "auto").strip().lower()
        if pinned != "auto" and not (pinned.isdigit() and int(pinned) > 0):
            logger.warning("RLKD_THREADS=%r is neither a positive number nor 'auto': using 'auto'", pinned)
            pinned = "auto"
        self.pinned = pinned if pinned != "auto" else os.environ.get("OMP_NUM_THREADS")
        self.hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self.last: tuple[float, float, int] | None = None

    def _snapshot(self) -> tuple[float, float, int] | None:
        ticks = _busy_ticks()
        return None if ticks is None else (time.monotonic(), time.process_time(), ticks)

    def adjust(self) -> int | None:
        """Set torch's thread count from the load since the last call; returns it (None when pinned or unknown)."""
        import torch

        if self.pinned:
            if self.pinned.isdigit() and int(self.pinned) != torch.get_num_threads():
                torch.set_num_threads(int(self.pinned))
            return None
        if self.last is None:
            self.last = self._snapshot()
            if self.last is None:
                return None
            time.sleep(FIRST_WINDOW_SECONDS)
        elif time.monotonic() - self.last[0] < RECHECK_SECONDS:
            return None
        now = self._snapshot()
        if now is None:
            return None
        elapsed = max(now[0] - self.last[0], 1e-3)
        others = ((now[2] - self.last[2]) / self.hz - (now[1] - self.last[1])) / elapsed
        self.last = now
        cores = _cores()
        threads = min(cores, max(1, round(cores - max(others, 0.0))))
        if threads != torch.get_num_threads():
            logger.info(
                "torch threads %d -> %d (other processes keep %.1f of %d cores busy)",
                torch.get_num_threads(),
                threads,
                others,
                cores,
            )
            torch.set_num_threads(threads)
        return threads


POLICY = ThreadPolicy()
