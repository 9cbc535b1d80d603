"""The worker side of rewards.isolation.pool: what every worker script does first.

    out = child.setup(parent_pid, pdeathsig)   # the reply stream; fd 1 now points at stderr

- Replies go to a private copy of the original stdout, and fd 1 is pointed at stderr, so anything a library (or a
  reward) prints lands in the log, never in the reply stream.
- Ctrl-C is for the trainer: workers ignore SIGINT and exit when the parent closes their stdin.
- On Linux the kernel SIGKILLs the worker when its parent goes, even while it is stuck in a C call.
"""

from __future__ import annotations

import os
import signal
from typing import BinaryIO


def die_with_parent(parent_pid: int) -> None:
    """Linux: have the kernel SIGKILL this process when its parent goes, even while stuck in a C call."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent_pid:  # the parent went before prctl took effect
        os._exit(0)


def setup(parent_pid: int, pdeathsig: bool) -> BinaryIO:
    """Take the reply stream off fd 1, ignore Ctrl-C, and tie this process's life to the parent's."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if pdeathsig:
        die_with_parent(parent_pid)
    return out
