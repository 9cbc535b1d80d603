"""SIGTERM and Ctrl-C during `rlkd train`: finish the step, save a checkpoint, say how to resume.

Schedulers (SLURM, Kubernetes) pre-empt with SIGTERM and follow with SIGKILL after a grace period; a person stops a
run with Ctrl-C. Either way the work since the last checkpoint was lost and the process died with a traceback or
silently. Here the signal only raises a flag; the `StopOnSignal` callback sees it at the next optimizer-step
boundary and asks the trainer to save a checkpoint and stop (`control.should_save` / `should_training_stop`, the
trainer's own saving path, so the checkpoint is the same as a scheduled one and resumes exactly). `rlkd train` then
exits with one line naming the checkpoint and the resume command (status 143 for SIGTERM, 130 for Ctrl-C).

- A second Ctrl-C stops at once (KeyboardInterrupt), for when a step takes too long to wait for.
- Before the first step (loading, building) there is nothing to save: the signal stops the run right away.
- The grace period must cover one step plus a checkpoint save; a SIGKILL before that loses the step as it did
  before (the latest complete checkpoint stays resumable).

transformers' own JITCheckpointCallback (`enable_jit_checkpoint`) handles SIGTERM only, waits a fixed 3 s and prints
nothing about resuming, which is why rlkd has this one.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from transformers import TrainerCallback

logger = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Preempted(Exception):
    """Training stopped on a signal; the message names the checkpoint and the resume command."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


def signal_name(signum: int) -> str:
    return "Ctrl-C (SIGINT)" if signum == signal.SIGINT else signal.Signals(signum).name


class StopOnSignal(TrainerCallback):
    """Turns a received stop signal into a checkpoint and a stop at the next step boundary."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self.phase = "starting"  # starting → training → finishing
        self.stopped_at: int | None = None

    def on_train_begin(self, args, state, control, **kwargs):
        self.phase = "training"

    def on_step_end(self, args, state, control, **kwargs):
        if self.signum is not None and self.stopped_at is None:
            control.should_save = True
            control.should_training_stop = True
            self.stopped_at = state.global_step
        return control

    def on_train_end(self, args, state, control, **kwargs):
        self.phase = "finishing"

    def handle(self, signum: int, frame) -> None:
        if self.phase == "starting":
            raise Preempted(f"stopped by {signal_name(signum)} before training started; nothing to save", 128 + signum)
        if self.phase == "finishing":  # the last step is done; the final model is being written: let it finish
            logger.warning("%s received while the run finishes; finishing", signal_name(signum))
            return
        if self.signum is not None:
            if signum == signal.SIGINT:
                raise KeyboardInterrupt  # a second Ctrl-C: the user does not want to wait for the step
            return
        self.signum = signum
        logger.warning(
            "%s received: saving a checkpoint at the end of this step, then stopping (Ctrl-C again to stop now)",
            signal_name(signum),
        )

    @property
    def exit_code(self) -> int:
        return 128 + (self.signum or signal.SIGTERM)


@contextmanager
def stop_signals_handled(callback: StopOnSignal) -> Iterator[StopOnSignal]:
    """SIGTERM and SIGINT go to `callback` inside the block (main thread only: Python delivers signals there)."""
    if threading.current_thread() is not threading.main_thread():
        yield callback
        return
    previous = {s: signal.signal(s, callback.handle) for s in STOP_SIGNALS}
    try:
        yield callback
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def stop_message(callback: StopOnSignal, checkpoint, resume_cmd: str) -> str:
    """The one line `rlkd train` ends with after a signal."""
    step = callback.stopped_at
    if checkpoint is not None and step is not None and checkpoint.name.endswith(f"-{step}"):
        saved = f"saved {checkpoint}"
    elif checkpoint is not None:
        saved = f"no checkpoint could be saved at step {step}; the latest is {checkpoint}"
    else:
        saved = "no checkpoint could be saved"
    return f"stopped by {signal_name(callback.signum)} after step {step}: {saved}; resume with `{resume_cmd}`"
