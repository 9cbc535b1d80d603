"""The math-verify engine behind the `accuracy` reward: verification with a hard time limit in killable worker
processes (`verify`), the generic process pool it runs on (`pool`), and the worker script itself (`worker`, run as
a file by the pool, never imported)."""

from rewards.mathverify.verify import Verifier

__all__ = ["Verifier"]
