"""The math-verify engine behind the `accuracy` reward: verification with a hard time limit in killable worker
processes (`verify`) and the worker script itself (`worker`, run as a file by the pool, never imported). The
killable process pool it runs on is rewards.isolation.pool, shared with isolated plug-in rewards."""

from rewards.mathverify.verify import Verifier

__all__ = ["Verifier"]
