"""Killable worker processes with a hard time limit on every step of every job: the one pool behind every reward
that must be stoppable (math-verify's verifications, rewards.mathverify; isolated plug-in rewards,
rewards.isolation.isolated).

Why processes, and why these: a Python thread cannot be stopped, and a signal handler cannot interrupt one long C
call (sympy evaluating `9^{9^{9^{9}}}` is a single big-integer power), so the only limit that holds everywhere is a
process we can kill. The workers are plain subprocesses of `sys.executable` running a worker script, not
`multiprocessing` children, because:
- `spawn`/`forkserver` re-import the user's `__main__`, and an unguarded training script would start again in
  every worker;
- `fork` is unsafe in a trainer that already runs torch threads or a vLLM engine;
- `multiprocessing` refuses to start children from daemonic processes.

Protocol: messages in one of rlkd's codecs (rewards.isolation.wire: JSON lines, or pickle frames). The pool may send
each new worker an `init` message first. The worker writes `{"ready": true, ...}` once it has imported and warmed
up (kept as `info`), or `{"ready": false, "error": "..."}` when it cannot start (raised here as a RewardError with
that message); then for each job it receives it writes one or more replies, the last one carrying `"end": true`.
The pool gives each reply `step_timeout` seconds (counted from the previous reply, or from sending the job); a
worker that overruns or dies is killed and replaced, and the caller decides what the unfinished job becomes
(`on_stall`, told whether it was a timeout or a death, and how the worker died).

Clean shutdown: workers exit on end-of-file on stdin, so they go when the parent closes the pool, exits, or dies;
and they get SIGKILL from the kernel if the parent dies while they are stuck in C (PR_SET_PDEATHSIG). That signal
fires when the *thread* that started a process ends, and rewards may be called from short-lived threads, so every
worker is started by one long-lived spawner thread.
"""

from __future__ import annotations

import logging
import math
import os
import queue
import selectors
import signal
import subprocess
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Literal, NamedTuple

from rewards.errors import RewardError
from rewards.isolation.wire import JSON_LINES, Codec, WireError

logger = logging.getLogger(__name__)

# Runs the worker script by path: `python script.py` would put the script's folder (this package) first on
# sys.path, where its module names could shadow others.
_BOOT = "import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
_CLOSE_GRACE_S = 2.0
_EXIT_WAIT_S = 1.0  # after end-of-file, how long to wait for the exit status that says how a worker died


class Stall(NamedTuple):
    """Why a job was cut short: its worker overran the step limit ("timeout") or died ("exit"); `detail` says how."""

    kind: Literal["timeout", "exit"]
    detail: str


Job = dict
OnReply = Callable[[Job, dict], None]
OnStall = Callable[[Job, int, Stall], "Job | None"]


class _Spawner:
    """Starts processes from one thread that lives as long as this process, whichever thread asks."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def popen(self, argv: list[str], **kwargs) -> subprocess.Popen:
        with self._lock:
            if self._thread is None or self._pid != os.getpid():  # threads do not survive a fork
                self._requests = queue.SimpleQueue()
                self._thread = threading.Thread(target=self._serve, name="rlkd-worker-spawner", daemon=True)
                self._thread.start()
                self._pid = os.getpid()
        result: Future = Future()
        self._requests.put((argv, kwargs, result))
        return result.result()

    def _serve(self) -> None:
        while True:
            argv, kwargs, result = self._requests.get()
            try:
                result.set_result(subprocess.Popen(argv, **kwargs))
            except BaseException as e:  # handed to the caller, who raises it
                result.set_exception(e)


_SPAWNER = _Spawner()


class _Worker:
    def __init__(self, proc: subprocess.Popen, start_deadline: float, codec: Codec):
        self.proc, self.codec = proc, codec
        self.fd = proc.stdout.fileno()
        self.buf = b""
        self.ready = False
        self.info: dict = {}  # the worker's ready message
        self.job: Job | None = None
        self.replies = 0
        self.deadline = start_deadline

    def write(self, message) -> bool:
        try:
            self.proc.stdin.write(self.codec.encode(message))
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            return False
        return True

    def send(self, job: Job, step_timeout: float) -> bool:
        if not self.write(job):
            return False
        self.job, self.replies, self.deadline = job, 0, time.monotonic() + step_timeout
        return True

    def read(self) -> list | None:
        """The complete messages available now, or None at end-of-file (the worker is gone). Raises WireError when
        the stream is garbage."""
        chunk = os.read(self.fd, 1 << 16)
        if not chunk:
            return None
        messages, self.buf = self.codec.decode(self.buf + chunk)
        return messages


def _kill(worker: _Worker) -> None:
    worker.proc.kill()
    worker.proc.wait()
    for stream in (worker.proc.stdin, worker.proc.stdout):
        try:
            stream.close()
        except OSError:
            pass


def _death(proc: subprocess.Popen) -> str:
    """How a worker whose output ended died, in words for the log."""
    try:
        code = proc.wait(timeout=_EXIT_WAIT_S)
    except subprocess.TimeoutExpired:
        return "closed its reply pipe"
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


def _close_all(workers: list[_Worker], owner_pid: int) -> None:
    """Ask every worker to exit (end-of-file on stdin), then kill the ones that have not after a short grace."""
    if os.getpid() != owner_pid:  # a forked child must not stop its parent's workers
        return
    for w in workers:
        try:
            w.proc.stdin.close()
        except OSError:
            pass
    deadline = time.monotonic() + _CLOSE_GRACE_S
    for w in workers:
        try:
            w.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        _kill(w)
    workers.clear()


class WorkerPool:
    """`size` long-lived workers running `script`; every reply must arrive within `step_timeout` seconds (math.inf:
    no limit). `init`, when given, is the first message each new worker receives."""

    def __init__(
        self,
        script: Path,
        args: Sequence[str],
        size: int,
        step_timeout: float,
        start_timeout: float = 120.0,
        *,
        codec: Codec = JSON_LINES,
        init: object | None = None,
    ) -> None:
        if size < 1:
            raise RewardError(f"workers must be >= 1, got {size}")
        self.script, self.args, self.size = Path(script), list(args), size
        self.step_timeout, self.start_timeout = step_timeout, start_timeout
        self.codec, self.init = codec, init
        self.stalls = 0  # jobs cut short by a kill (overrun or crash), since the pool started
        self._workers: list[_Worker] = []
        self._sel = selectors.DefaultSelector()
        self._lock = threading.Lock()
        self._owner_pid = os.getpid()
        self._finalizer = weakref.finalize(self, _close_all, self._workers, self._owner_pid)

    # -- lifecycle ------------------------------------------------------------------------------------------------

    def _spawn(self) -> _Worker:
        argv = [sys.executable, "-c", _BOOT, str(self.script), str(os.getpid()), "1", *self.args]
        proc = _SPAWNER.popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True)
        worker = _Worker(proc, time.monotonic() + self.start_timeout, self.codec)
        self._sel.register(worker.fd, selectors.EVENT_READ, worker)
        self._workers.append(worker)
        if self.init is not None:
            worker.write(self.init)  # a worker that died before reading it is noticed on read
        return worker

    def _fill(self) -> None:
        while len(self._workers) < self.size:
            self._spawn()

    def _retire(self, worker: _Worker) -> None:
        self._sel.unregister(worker.fd)
        self._workers.remove(worker)
        _kill(worker)

    def _adopt_after_fork(self) -> None:
        """In a forked child the inherited workers belong to the parent: forget them and start our own."""
        if os.getpid() == self._owner_pid:
            return
        self._owner_pid = os.getpid()
        self._workers.clear()
        self._sel = selectors.DefaultSelector()
        self._finalizer.detach()
        self._finalizer = weakref.finalize(self, _close_all, self._workers, self._owner_pid)

    def start(self) -> dict:
        """Start the workers now and wait until every one is ready, so one that cannot start is an error here (at
        configuration time) rather than at the first job. Returns the first worker's ready message."""
        with self._lock:
            self._adopt_after_fork()
            self._fill()
            while not all(w.ready for w in self._workers):
                self._pump(None, lambda job, replies, stall: None, deque())
            return dict(self._workers[0].info)

    def close(self) -> None:
        with self._lock:
            for w in list(self._workers):
                self._sel.unregister(w.fd)
            _close_all(self._workers, self._owner_pid)

    @property
    def pids(self) -> list[int]:
        return [w.proc.pid for w in self._workers]

    # -- running jobs ---------------------------------------------------------------------------------------------

    def run(self, jobs: Iterable[Job], on_reply: OnReply, on_stall: OnStall) -> None:
        """Run `jobs` on the workers, feeding every reply to `on_reply(job, reply)`.

        When a worker overruns a step or dies mid-job, it is killed and replaced, and `on_stall(job, replies_so_far,
        stall)` returns a follow-up job to queue (the unfinished rest) or None.
        """
        with self._lock:
            self._adopt_after_fork()
            queue = deque(jobs)
            self._fill()
            try:
                while queue or any(w.job is not None for w in self._workers):
                    for w in self._workers:
                        if w.ready and w.job is None and queue:
                            job = queue.popleft()
                            if not w.send(job, self.step_timeout):
                                queue.appendleft(job)  # it never started; the dead worker is noticed on read
                    self._pump(on_reply, on_stall, queue)
            except BaseException:
                # Interrupted (Ctrl-C, a failing callback): a busy worker's late replies would be read as the next
                # run's, so it goes; replacements start on the next run.
                for w in [w for w in self._workers if w.job is not None]:
                    self._retire(w)
                raise

    def _pump(self, on_reply: OnReply | None, on_stall: OnStall, queue: deque) -> None:
        """Wait for the next message or deadline, and handle what arrived or expired."""
        for key, _ in self._sel.select(self._next_timeout()):
            self._on_readable(key.data, on_reply, on_stall, queue)
        self._expire(on_stall, queue)

    def _next_timeout(self) -> float | None:
        """Seconds until the earliest deadline of a busy or starting worker (None: nothing to wait for)."""
        deadlines = [w.deadline for w in self._workers if w.job is not None or not w.ready]
        if not deadlines or min(deadlines) == math.inf:
            return None
        return max(0.0, min(deadlines) - time.monotonic())

    def _on_readable(self, w: _Worker, on_reply: OnReply | None, on_stall: OnStall, queue: deque) -> None:
        try:
            replies = w.read()
        except WireError as e:
            self._replace(w, on_stall, queue, Stall("exit", f"wrote a corrupt reply ({e})"))
            return
        if replies is None:
            self._replace(w, on_stall, queue, Stall("exit", _death(w.proc)))
            return
        for reply in replies:
            if not w.ready:
                if reply.get("error"):
                    self._retire(w)
                    raise RewardError(str(reply["error"]))
                w.ready, w.info = bool(reply.get("ready", False)), reply
                continue
            if w.job is None or on_reply is None:
                continue
            on_reply(w.job, reply)
            w.replies += 1
            w.deadline = time.monotonic() + self.step_timeout
            if reply.get("end"):
                w.job = None

    def _expire(self, on_stall: OnStall, queue: deque) -> None:
        now = time.monotonic()
        for w in list(self._workers):
            if w.job is not None and now >= w.deadline:
                self._replace(w, on_stall, queue, Stall("timeout", f"overran its {self.step_timeout:g} s limit"))
            elif not w.ready and now >= w.deadline:
                self._retire(w)
                raise RewardError(f"a worker ({self.script.name}) did not start within {self.start_timeout:g} s")

    def _replace(self, w: _Worker, on_stall: OnStall, queue: deque, stall: Stall) -> None:
        job, replies, was_ready = w.job, w.replies, w.ready
        self._retire(w)
        if not was_ready:
            raise RewardError(
                f"a worker ({self.script.name}) exited during start-up with status {w.proc.returncode}; "
                "its error is on stderr"
            )
        if job is not None:
            self.stalls += 1
            logger.debug("worker %s %s; replacing it", w.proc.pid, stall.detail)
            follow_up = on_stall(job, replies, stall)
            if follow_up is not None:
                queue.appendleft(follow_up)
        self._spawn()
