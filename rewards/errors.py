"""The errors of the rewards package: one a user fixes (RewardError) and the faults of one batch that the reward
guard (rewards.registry) turns into None, counts and logs once.

A leaf module, so the registry, the worker pool and the isolated-reward proxy can all raise and catch these without
importing each other.
"""

from __future__ import annotations


class RewardError(ValueError):
    """A reward cannot be resolved or cannot read its input; the message says what to fix."""


class BatchFault(Exception):
    """One batch of a reward could not be scored; the guard gives its samples None and counts the fault."""


class RewardTimeout(BatchFault):
    """The batch overran its `batch_timeout`; counted as `rewards/<name>/timeouts`."""

    def __init__(self, seconds: float | None):
        super().__init__(f"took longer than {seconds:g} s on a batch" if seconds else "timed out")
        self.seconds = seconds


class RewardCrash(BatchFault):
    """The reward's worker process died on the batch (a signal, os._exit, sys.exit, closed pipes, ...); counted as
    `rewards/<name>/crashes`. The message says how it died."""


class RemoteError(BatchFault):
    """The reward raised inside its worker process; the message is the worker's formatted traceback."""


def first_line(error: BaseException) -> str:
    """The first line of an exception's message, or its type name when the message is empty."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
