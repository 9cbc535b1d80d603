"""rlkd.threads: torch uses the cores other processes leave free, and a pinned count is left alone."""

from __future__ import annotations

import math
import subprocess
import sys
import time

import torch

from rlkd import threads


def test_counts_other_processes_from_proc_stat(monkeypatch):
    """Two cores, the box 1.5 cores busier than this process: one thread left. The arithmetic, not the box."""
    ticks = iter([1000, 1000 + 150 * 30])  # 30 s later, 150 busy ticks/s over the box (hz 100)
    clock = iter([0.0, 30.0, 40.0])
    monkeypatch.setattr(threads, "_busy_ticks", lambda: next(ticks))
    monkeypatch.setattr(threads, "_cores", lambda: 2)
    monkeypatch.setattr(threads.time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(threads.time, "sleep", lambda s: None)
    monkeypatch.setattr(threads.time, "process_time", iter([5.0, 5.0 + 0.5 * 30]).__next__)  # this process: 0.5
    monkeypatch.delenv("RLKD_THREADS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = torch.get_num_threads()
    try:
        policy = threads.ThreadPolicy()
        policy.hz = 100
        assert policy.adjust() == 1  # 1.5 - 0.5 = one core kept busy by others, of two
        assert torch.get_num_threads() == 1
        assert policy.adjust() is None  # within RECHECK_SECONDS of the last check: nothing measured, nothing set
    finally:
        torch.set_num_threads(before)


def test_a_busy_loop_beside_rlkd_leaves_it_the_free_cores(monkeypatch):
    monkeypatch.delenv("RLKD_THREADS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    cores = threads._cores()
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(max(1, cores - 1))]
    before = torch.get_num_threads()
    try:
        time.sleep(0.5)
        chosen = threads.ThreadPolicy().adjust()
        assert chosen == 1 and torch.get_num_threads() == 1, chosen
    finally:
        for loop in loops:
            loop.kill()
        torch.set_num_threads(before)


def test_a_pinned_count_turns_the_policy_off(monkeypatch):
    before = torch.get_num_threads()
    monkeypatch.setenv("RLKD_THREADS", "1")
    try:
        assert threads.ThreadPolicy().adjust() is None and torch.get_num_threads() == 1
        monkeypatch.setenv("RLKD_THREADS", "auto")
        monkeypatch.setenv("OMP_NUM_THREADS", "3")  # the user's OpenMP setting is theirs too, whatever the load
        assert threads.ThreadPolicy().adjust() is None and torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(before)


def test_a_mistyped_count_is_said_and_falls_back_to_auto(monkeypatch, caplog):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    for value in ("two", "0", "-1"):
        monkeypatch.setenv("RLKD_THREADS", value)
        with caplog.at_level("WARNING", logger="rlkd.threads"):
            policy = threads.ThreadPolicy()
        assert policy.pinned is None and f"RLKD_THREADS={value!r}" in caplog.text


def test_metrics_jsonl_records_the_thread_count_each_step_ran_at(tmp_path):
    """The count can change a run's digits on some CPUs, so each record carries it; a change shows step by step."""
    from types import SimpleNamespace

    from rlkd.io import read_jsonl
    from rlkd.training.tracking import MetricsJSONLCallback

    callback, state = MetricsJSONLCallback(tmp_path), SimpleNamespace(is_world_process_zero=True, global_step=1)
    before = torch.get_num_threads()
    try:
        for threads_now in (1, 2):
            torch.set_num_threads(threads_now)
            callback.on_log(None, state, None, logs={"loss": 0.5})
            state.global_step += 1
    finally:
        torch.set_num_threads(before)
    records = read_jsonl(tmp_path / "metrics.jsonl")
    assert [(r["step"], r["cpu_threads"], r["loss"]) for r in records] == [(1, 1, 0.5), (2, 2, 0.5)]


def test_a_wandb_replay_logs_what_the_run_logged_and_not_the_thread_count(tmp_path):
    """After a kill -9, steps W&B lost are logged again from metrics.jsonl; the thread count is a metrics.jsonl-only
    field, so replaying it would log a metric the uninterrupted run never did (test_resume counts them)."""
    from types import SimpleNamespace

    from rlkd.io import append_jsonl
    from rlkd.training.tracking import replay_metrics

    for step in (1, 2, 3):
        append_jsonl(tmp_path / "metrics.jsonl", {"step": step, "cpu_threads": 2, "loss": 0.5, "reward": "nan"})
    logged = []
    run = SimpleNamespace(log=logged.append, summary={})
    replay_metrics(run, tmp_path / "metrics.jsonl", after=1, upto=2)
    assert len(logged) == 1 and logged[0]["train/global_step"] == 2
    assert logged[0]["train/loss"] == 0.5 and math.isnan(logged[0]["train/reward"])
    assert not any("cpu_threads" in key for key in logged[0])
