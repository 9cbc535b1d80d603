"""SIGTERM / Ctrl-C as a flag turned into a checkpoint at the step boundary (rlkd.training.preemption); the real
signal through a real run is tests/integration/test_preemption.py."""

import os
import signal
from pathlib import Path

import pytest
from transformers import TrainerControl, TrainerState

from rlkd.training.preemption import Preempted, StopOnSignal, stop_message, stop_signals_handled


def test_a_signal_asks_for_a_checkpoint_and_a_stop_at_the_next_step_end():
    cb, control, state = StopOnSignal(), TrainerControl(), TrainerState()
    cb.on_train_begin(None, state, control)
    state.global_step = 3
    cb.on_step_end(None, state, control)
    assert not control.should_save and not control.should_training_stop  # no signal: training goes on
    cb.handle(signal.SIGTERM, None)
    cb.handle(signal.SIGTERM, None)  # a scheduler repeating itself changes nothing
    state.global_step = 4
    cb.on_step_end(None, state, control)
    assert control.should_save and control.should_training_stop and cb.stopped_at == 4
    assert cb.exit_code == 143  # 128 + SIGTERM, what a scheduler expects


def test_before_training_there_is_nothing_to_wait_for():
    with pytest.raises(Preempted, match="before training started; nothing to save") as e:
        StopOnSignal().handle(signal.SIGINT, None)
    assert e.value.exit_code == 130


def test_a_second_ctrl_c_stops_at_once():
    cb = StopOnSignal()
    cb.on_train_begin(None, None, None)
    cb.handle(signal.SIGINT, None)
    with pytest.raises(KeyboardInterrupt):
        cb.handle(signal.SIGINT, None)


def test_handlers_are_installed_for_the_block_only():
    before = signal.getsignal(signal.SIGTERM)
    cb = StopOnSignal()
    cb.on_train_begin(None, None, None)
    with stop_signals_handled(cb):
        os.kill(os.getpid(), signal.SIGTERM)  # delivered to the main thread: the flag, not death
        assert cb.signum == signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is before


@pytest.mark.parametrize(
    "checkpoint, saved",
    [
        ("run/checkpoint-4", "saved run/checkpoint-4"),
        ("run/checkpoint-2", "no checkpoint could be saved at step 4; the latest is run/checkpoint-2"),
        (None, "no checkpoint could be saved"),
    ],
)
def test_the_message_names_the_checkpoint_and_the_command(checkpoint, saved):
    cb = StopOnSignal()
    cb.signum, cb.stopped_at = signal.SIGTERM, 4
    message = stop_message(cb, Path(checkpoint) if checkpoint else None, "rlkd train x.yaml --resume")
    assert message == f"stopped by SIGTERM after step 4: {saved}; resume with `rlkd train x.yaml --resume`"


def test_the_failure_hint_repeats_the_overrides(tmp_path):
    # the input that broke it: the hint said `rlkd train configs/x.yaml --resume` for a run started with
    # grpo.output_dir=..., which resumes a different run
    from types import SimpleNamespace

    from rlkd.commands.train import _failure_message
    from rlkd.training.run_guard import resume_command

    trainer = SimpleNamespace(state=SimpleNamespace(global_step=7))
    cmd = resume_command("configs/x.yaml", [f"grpo.output_dir={tmp_path}", "grpo.max_steps=10"])
    message = _failure_message(RuntimeError("engine died\nmore"), trainer, tmp_path, cmd)
    assert message == (
        "training stopped at step 7: RuntimeError: engine died; no checkpoint was saved yet; resume with "
        f"`rlkd train configs/x.yaml grpo.output_dir={tmp_path} grpo.max_steps=10 --resume`"
    )
