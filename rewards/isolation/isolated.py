"""An isolated reward: the plug-in runs in a worker process of its own, and the trainer calls a proxy.

    fn = isolated_reward(target, batch_timeout=600.0, memory_limit_mb=None)   # via rewards.get_reward
    fn(completions=..., prompts=..., solution=..., log_metric=...)            # as TRL calls any reward

What it buys: the worker, not the trainer, is what a hostile plug-in can kill. os._exit, a segfault, sys.exit,
KeyboardInterrupt, closing stderr, running out of an optional memory cap: the worker dies, the batch gets None
(RewardCrash), a fresh worker starts. A hang of any kind (a sleep, catastrophic regex backtracking or a huge
integer power holding the GIL, an async reward blocking its own event loop) is cut at `batch_timeout` by killing
the worker (RewardTimeout) — the limit an in-process reward cannot have, since Python cannot stop a thread. The
rewards.registry guard turns both into None for the batch, counts them and logs them once.

What crosses the pipe (pickled): the batch's keyword arguments (completions, prompts, completion_ids, every
dataset column), and `trainer_state` as a snapshot of its plain fields (global_step, epoch, max_steps, ...).
`log_metric` and `log_extra` are stand-ins in the worker whose calls are replayed here after the batch; TRL's
`environments` cannot be pickled and are not passed. The worker starts when the reward is built, with the
trainer's sys.path and working directory, so a plug-in that cannot be pickled (a factory defined inside a
function) or imported there (defined in `__main__`) is a RewardError now, not at step 1.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import math
import pickle
import sys
from pathlib import Path
from typing import Any

from rewards.errors import RemoteError, RewardCrash, RewardError, RewardTimeout, first_line
from rewards.isolation.pool import Stall, WorkerPool
from rewards.isolation.wire import PICKLE_FRAMES

_WORKER = Path(__file__).with_name("worker.py")
START_TIMEOUT_S = 120.0  # importing and building a plug-in; a factory that loads a model may need isolate: false
_NOT_SENT = ("log_metric", "log_extra", "environments", "trainer_state")


class WrongType:
    """Stands in for what a reward returned when it was not a list (only its type's name crosses the pipe), so the
    guard reports it exactly as it would in process."""

    def __init__(self, type_name: str):
        self.type_name = type_name


def _snapshot(state: Any) -> dict[str, Any] | None:
    """TRL's TrainerState as plain data (its history and callbacks stay here)."""
    if state is None:
        return None
    fields = vars(state) if hasattr(state, "__dict__") else {}
    return {k: v for k, v in fields.items() if v is None or isinstance(v, (bool, int, float, str))}


def _signature(params: list | None) -> inspect.Signature | None:
    """The plug-in's own signature, rebuilt here, so `rlkd validate` can see which dataset columns it requires."""
    if params is None:
        return None
    empty = inspect.Parameter.empty
    return inspect.Signature(
        [inspect.Parameter(n, inspect._ParameterKind(k), default=None if has else empty) for n, k, has in params]
    )


class _Caller:
    """Sends one batch to the worker and turns what comes back into the reward's output or a batch fault."""

    def __init__(self, pool: WorkerPool, batch_timeout: float | None):
        self.pool, self.batch_timeout = pool, batch_timeout
        self.taken: dict[str, float] = {}

    def __call__(self, kwargs: dict[str, Any]) -> Any:
        log_metric, log_extra = kwargs.get("log_metric"), kwargs.get("log_extra")
        job = {
            "kwargs": {k: v for k, v in kwargs.items() if k not in _NOT_SENT},
            "state": _snapshot(kwargs.get("trainer_state")),
        }
        replies: list[dict] = []
        stalls: list[Stall] = []
        try:
            self.pool.run([job], lambda j, reply: replies.append(reply), lambda j, n, stall: stalls.append(stall))
        except RewardError as e:  # the replacement for an earlier crash could not start
            raise RewardCrash(f"could not be restarted ({e})") from None
        if stalls:
            if stalls[0].kind == "timeout":
                raise RewardTimeout(self.batch_timeout)
            raise RewardCrash(stalls[0].detail)
        reply = replies[-1]
        for name, value in reply.get("metrics", ()):
            if log_metric is not None:
                log_metric(name, value)
        for column, values in reply.get("extra", ()):
            if log_extra is not None:
                log_extra(column, values)
        self.taken = reply.get("taken", {})
        if "error" in reply:
            raise RemoteError(str(reply["error"]).rstrip())
        return WrongType(reply["shape"]) if "shape" in reply else reply["out"]

    def take_metrics(self) -> dict[str, float]:
        taken, self.taken = self.taken, {}
        return taken


def isolated_reward(target, batch_timeout: float | None, memory_limit_mb: float | None = None):
    """A proxy for `target` (a rewards.registry.Target) that runs it in a worker process started now."""
    name = target.name
    try:
        blob = pickle.dumps(target, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as e:
        raise RewardError(
            f"reward '{name}' cannot be sent to a worker process ({type(e).__name__}: {first_line(e)}): define its "
            "factory or function at the top level of an importable module, or set isolate: false"
        ) from None
    init = {"name": name, "target": blob, "memory_limit_mb": memory_limit_mb}
    step_timeout = batch_timeout if batch_timeout is not None else math.inf
    pool = WorkerPool(
        _WORKER, [json.dumps(sys.path)], 1, step_timeout, START_TIMEOUT_S, codec=PICKLE_FRAMES, init=init
    )
    try:
        info = pool.start()
    except RewardError as e:
        pool.close()
        message = str(e)
        raise RewardError(message if message.startswith("reward '") else f"reward '{name}': {message}") from None
    call = _Caller(pool, batch_timeout)
    if info["is_async"]:

        async def proxy(**kwargs):
            return await asyncio.get_running_loop().run_in_executor(None, functools.partial(call, kwargs))

    else:

        def proxy(**kwargs):
            return call(kwargs)

    proxy.__signature__ = _signature(info["params"])
    proxy.isolated = True
    proxy.pool = pool
    proxy.close = pool.close
    if info["take_metrics"]:
        proxy.take_metrics = call.take_metrics
    return proxy
