"""rewards.isolation.pool: hard per-step limits by killing, replacement, and no process left behind."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from rewards import RewardError
from rewards.isolation.pool import WorkerPool

REPO = Path(__file__).resolve().parents[2]

# A worker speaking the pool's protocol: replies {"x": item} per item; "hang" and "crash" misbehave.
TOY_WORKER = """
import json, os, sys, time
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    job = json.loads(line)
    for i, x in enumerate(job["items"]):
        if x == "hang":
            time.sleep(3600)
        if x == "crash":
            os._exit(3)
        print(json.dumps({"x": x, "end": i == len(job["items"]) - 1}), flush=True)
"""


def _script(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "toy_worker.py"
    path.write_text(textwrap.dedent(body))
    return path


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its exit status is left to collect


def _gone(pids, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not any(_alive(p) for p in pids):
            return True
        time.sleep(0.1)
    return False


def _run(pool, jobs):
    seen, stalls = [], []

    def on_stall(job, replies, stall):
        stalls.append((job["items"][replies], replies))
        rest = job["items"][replies + 1 :]
        return {"items": rest} if rest else None

    pool.run(jobs, lambda job, reply: seen.append(reply["x"]), on_stall)
    return seen, stalls


@pytest.mark.parametrize(
    "bad",
    [
        "hang",  # overruns: killed at the limit
        "crash",  # dies mid-job: noticed at once
    ],
)
def test_a_bad_step_is_cut_and_the_rest_of_the_job_goes_on(tmp_path, bad):
    pool = WorkerPool(_script(tmp_path, TOY_WORKER), [], size=2, step_timeout=1.0)
    try:
        _run(pool, [{"items": ["warm"]}] * 2)
        before = pool.pids
        start = time.monotonic()
        seen, stalls = _run(pool, [{"items": ["a", bad, "b"]}, {"items": ["c", "d"]}])
        assert sorted(seen) == ["a", "b", "c", "d"] and stalls == [(bad, 1)]
        assert time.monotonic() - start < 1.0 + 10.0  # the limit plus one replacement's start-up
        assert pool.stalls == 1 and len(pool.pids) == 2
        assert _gone(set(before) - set(pool.pids))  # the culprit is dead, not orphaned
    finally:
        pool.close()


def test_runs_from_a_thread_and_outlives_it(tmp_path):
    pool = WorkerPool(_script(tmp_path, TOY_WORKER), [], size=1, step_timeout=1.0)
    try:
        out = []
        thread = threading.Thread(target=lambda: out.append(_run(pool, [{"items": ["a", "hang"]}])))
        thread.start()
        thread.join(timeout=30)
        assert out == [(["a"], [("hang", 1)])]
        # the replacement was started while that thread ran; the thread's end must not kill it (PDEATHSIG is
        # tied to the starting thread, hence the long-lived spawner thread)
        pids = pool.pids
        time.sleep(0.5)
        assert _run(pool, [{"items": ["b"]}]) == (["b"], []) and pool.pids == pids and pool.stalls == 1
    finally:
        pool.close()


@pytest.mark.parametrize(
    "body, start_timeout, message",
    [
        ("raise ImportError('no math_verify here')", 60.0, "exited during start-up"),  # a broken environment
        ("import time; time.sleep(60)", 1.0, "did not start within 1 s"),  # never says ready
    ],
)
def test_start_up_failures_are_clear_errors(tmp_path, body, start_timeout, message):
    pool = WorkerPool(_script(tmp_path, body), [], size=1, step_timeout=1.0, start_timeout=start_timeout)
    with pytest.raises(RewardError, match=message):
        _run(pool, [{"items": ["a"]}])
    pool.close()


def test_close_and_garbage_collection_stop_the_workers(tmp_path):
    pool = WorkerPool(_script(tmp_path, TOY_WORKER), [], size=2, step_timeout=1.0)
    _run(pool, [{"items": ["a"]}])
    pids = pool.pids
    pool.close()
    assert pool.pids == [] and _gone(pids)

    pool = WorkerPool(_script(tmp_path, TOY_WORKER), [], size=2, step_timeout=1.0)
    _run(pool, [{"items": ["a"]}])
    pids = pool.pids
    del pool  # the finalizer closes what nobody closed
    assert _gone(pids)


# A user's training script: no `if __name__ == "__main__"` guard, and it never closes the reward.
USER_SCRIPT = """
import sys
print("MAIN RAN", flush=True)
from rewards import make_accuracy_reward
reward = make_accuracy_reward(timeout={timeout}, workers=2)
print(reward([r"\\boxed{{2}}"], solution=["2"], thinking=[False]), flush=True)
print("PIDS", *reward.verifier.pool.pids, flush=True)
{tail}
"""


def _user_script(tmp_path, timeout=5.0, tail=""):
    path = tmp_path / "train_user.py"
    path.write_text(USER_SCRIPT.format(timeout=timeout, tail=tail))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, str(path)], stdout=subprocess.PIPE, text=True, env=env)


def _pids(line: str) -> list[int]:
    assert line.startswith("PIDS"), line
    return [int(p) for p in line.split()[1:]]


def test_no_worker_outlives_a_normal_exit_and_main_is_not_rerun(tmp_path):
    proc = _user_script(tmp_path)
    out, _ = proc.communicate(timeout=120)
    lines = out.splitlines()
    assert lines.count("MAIN RAN") == 1  # workers are exec'd, not spawned: the user's script did not run again
    assert lines[1] == "[1.0]"
    assert proc.returncode == 0 and _gone(_pids(lines[2]))


@pytest.mark.parametrize(
    "in_thread",
    [
        False,  # rewards called from the main thread (TRL's default)
        True,  # ... or each call from its own short-lived thread (a per-call time guard does this)
    ],
)
def test_no_worker_outlives_a_killed_trainer(tmp_path, in_thread):
    # The trainer is SIGKILLed while a worker is stuck in a C call (no soft limit, a long hard limit).
    tail = textwrap.dedent(
        f"""
        import threading
        from rewards.mathverify.verify import Verifier

        def call(fn):
            if {in_thread}:
                thread = threading.Thread(target=fn)
                thread.start()
                thread.join()
            else:
                fn()

        v = Verifier(timeout=300, workers=1, soft_limit=False)
        call(lambda: v.score(['1'], [r'\\boxed{{1}}']))
        print('PIDS', *v.pool.pids, flush=True)
        call(lambda: v.score(['3'], [r'\\boxed{{9^{{9^{{9^{{9}}}}}}}}']))
        """
    )
    proc = _user_script(tmp_path, tail=tail)
    lines = [proc.stdout.readline().strip() for _ in range(4)]
    pids = _pids(lines[2]) + _pids(lines[3])
    time.sleep(1.0)  # the stuck worker is now deep in sympy
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert _gone(pids)


def test_an_interrupted_run_leaves_no_stale_replies(tmp_path):
    pool = WorkerPool(_script(tmp_path, TOY_WORKER), [], size=1, step_timeout=5.0)
    try:

        def explode(job, reply):
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            pool.run([{"items": ["a", "b", "c"]}], explode, lambda job, n, stall: None)
        # the next run sees only its own replies, from a fresh worker
        assert _run(pool, [{"items": ["d"]}]) == (["d"], [])
    finally:
        pool.close()
