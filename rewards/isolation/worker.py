"""The worker process of one isolated plug-in reward (rewards.isolation.isolated), started by its pool and run as a
file, never imported.

    python worker.py PARENT_PID PDEATHSIG SYS_PATH_JSON

Messages are pickle frames (rewards.isolation.wire). The first from the parent is `{"name", "target",
"memory_limit_mb"}`, `target` being a pickled rewards.registry.Target: unpickling it imports the plug-in's module
here, and the reward is built exactly as it is in process (Target.build). The reply is `{"ready": true, "is_async",
"params", "take_metrics"}`, or `{"ready": false, "error": one line}` when it cannot be imported or built. Then one
reply per batch, `{"out" | "shape" | "error", "metrics", "extra", "taken", "end": true}`.

A fault the reward raises (an Exception) is a reply; one that ends this process (os._exit, a signal, sys.exit,
KeyboardInterrupt, a closed pipe) is noticed by the parent as end-of-file, and a hang or a loop blocked by a C call
by its deadline: either way the parent kills what is left and starts a fresh worker.
"""

from __future__ import annotations

import json
import sys
import traceback
from numbers import Real
from types import SimpleNamespace


def _plain(value):
    """What crosses back to the parent: plain data only (the parent unpickles replies without any global)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Real):  # numpy and friends
        return float(value)
    return str(value)


def _out(result) -> dict:
    if isinstance(result, (list, tuple)):
        return {"out": [float(v) if isinstance(v, Real) else v if v is None else type(v).__name__ for v in result]}
    return {"shape": type(result).__name__}  # the guard reports the wrong type, as it would in process


def _load(init: dict):
    """The built reward, or a one-line reason it cannot be."""
    import pickle

    from rewards.errors import RewardError, first_line

    name = init["name"]
    if init.get("memory_limit_mb"):
        import resource

        limit = int(init["memory_limit_mb"] * 2**20)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        target = pickle.loads(init["target"])
    except BaseException as e:
        raise RewardError(
            f"reward '{name}' cannot be loaded in its worker process ({type(e).__name__}: {first_line(e)}): it "
            "must be importable there (same sys.path and working directory), or set isolate: false"
        ) from None
    try:
        return target.build()
    except RewardError:
        raise
    except BaseException as e:
        raise RewardError(f"reward '{name}': its factory raised {type(e).__name__}: {first_line(e)}") from None


def _params(fn) -> list | None:
    import inspect

    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    return [(p.name, int(p.kind), p.default is not p.empty) for p in params]


def _score(fn, job: dict, loop) -> dict:
    metrics, extra = [], []
    kwargs = job["kwargs"]
    kwargs["log_metric"] = lambda name, value: metrics.append((str(name), float(value)))
    kwargs["log_extra"] = lambda column, values: extra.append((str(column), [_plain(v) for v in values]))
    if job.get("state") is not None:
        kwargs["trainer_state"] = SimpleNamespace(**job["state"])
    try:
        result = fn(**kwargs)
        if loop is not None:
            result = loop.run_until_complete(result)
        reply = _out(result)
    except Exception:
        reply = {"error": traceback.format_exc()}
    taken = getattr(fn, "take_metrics", None)
    if taken is not None:
        try:
            reply["taken"] = {str(k): float(v) for k, v in dict(taken()).items()}
        except Exception:
            reply.setdefault("error", traceback.format_exc())
    reply.update(metrics=metrics, extra=extra, end=True)
    return reply


def main(argv: list[str]) -> None:
    parent_pid, pdeathsig = int(argv[0]), argv[1] == "1"
    sys.path[:] = json.loads(argv[2])  # the trainer's, so its plug-ins import here as they do there
    from rewards.isolation import child, wire
    from rewards.registry import _is_async

    out = child.setup(parent_pid, pdeathsig)
    stdin = sys.stdin.buffer
    init = wire.read_frame(stdin)
    if init is None:
        return
    try:
        fn = _load(init)
    except Exception as e:
        wire.write_frame(out, {"ready": False, "error": str(e)})
        return
    is_async = _is_async(fn)
    info = {"ready": True, "is_async": is_async, "params": _params(fn), "take_metrics": hasattr(fn, "take_metrics")}
    wire.write_frame(out, info)
    loop = None
    if is_async:  # the reward's own event loop: blocking it blocks this worker only
        import asyncio

        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
    while (job := wire.read_frame(stdin)) is not None:
        wire.write_frame(out, _score(fn, job, loop))
    close = getattr(fn, "close", None)
    if callable(close):
        close()


if __name__ == "__main__":
    main(sys.argv[1:])
