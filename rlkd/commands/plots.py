"""`rlkd plot-curriculum RUN_DIR`: the curriculum at a glance, from metrics.jsonl alone (no W&B needed).

Top: the target mean pass rate the schedule asked for, the estimated pass rate of the prompts it drew, and the
realised batch pass rate (mean group accuracy); bottom: the share of zero-variance groups and of masked groups.
"""

from __future__ import annotations

from pathlib import Path

from rlkd.errors import ConfigError
from rlkd.io import read_jsonl
from rlkd.training.tracking import METRICS_FILE

SERIES = (
    ("curriculum/target_mean", "target (schedule)", "tab:blue", "--"),
    ("curriculum/batch_estimate_mean", "estimate of the batch", "tab:gray", ":"),
    ("curriculum/batch_pass_rate_mean", "realised batch pass rate", "tab:orange", "-"),
)
SIGNAL = (
    ("curriculum/frac_zero_variance_groups", "zero-variance groups", "tab:red"),
    ("curriculum/frac_masked", "masked (dynamic sampling)", "tab:purple"),
    ("dynamic_sampling/trained_zero_variance_frac", "zero-variance after refill", "tab:green"),
)


def _series(records: list[dict], key: str) -> tuple[list[int], list[float]]:
    pts = [(r["step"], r[key]) for r in records if isinstance(r.get(key), (int, float))]
    return [p[0] for p in pts], [p[1] for p in pts]


def plot_curriculum(run_dir: str | Path, out: str | Path | None = None) -> Path:
    run_dir = Path(run_dir)
    metrics = run_dir / METRICS_FILE
    if not metrics.is_file():
        raise ConfigError(f"{metrics} not found: give the output_dir of an rlkd training run")
    records = [r for r in read_jsonl(metrics) if "step" in r]
    if not any(key in r for r in records for key, *_ in SERIES):
        raise ConfigError(
            f"{metrics} has no curriculum metrics: train with rlkd and the reward named by curriculum.reward"
        )
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6), sharex=True, height_ratios=(2, 1))
    for key, label, color, style in SERIES:
        steps, values = _series(records, key)
        if steps:
            top.plot(steps, values, style, color=color, label=label)
    top.set_ylabel("pass rate")
    top.set_ylim(-0.02, 1.02)
    top.legend(loc="best")
    top.set_title(f"curriculum: {run_dir.name}")
    for key, label, color in SIGNAL:
        steps, values = _series(records, key)
        if steps:
            bottom.plot(steps, values, color=color, label=label)
    bottom.set_ylabel("fraction of groups")
    bottom.set_xlabel("step")
    bottom.set_ylim(-0.02, 1.02)
    bottom.legend(loc="best")
    fig.tight_layout()
    path = Path(out) if out else run_dir / "curriculum.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


TRAINING = (
    ("reward", "total reward (weighted)", "tab:blue"),
    ("rewards/accuracy/mean", "accuracy", "tab:green"),
    ("rewards/format/mean", "format", "tab:orange"),
)


def plot_training(run_dir: str | Path, out: str | Path) -> Path:
    """Reward and accuracy over training steps (overall and per reasoning mode), from metrics.jsonl."""
    run_dir = Path(run_dir)
    records = [r for r in read_jsonl(run_dir / METRICS_FILE) if "step" in r and "reward" in r]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    for key, label, color in TRAINING:
        steps, values = _series(records, key)
        if steps:
            top.plot(steps, values, color=color, label=label)
    top.set_ylabel("reward (batch mean)")
    top.legend(loc="best")
    top.set_title(f"GRPO: {run_dir.name}")
    for mode, color in (("on", "tab:purple"), ("off", "tab:brown")):
        steps, values = _series(records, f"modes/{mode}/accuracy")
        if steps:
            bottom.plot(steps, values, color=color, label=f"accuracy, thinking {mode}")
    bottom.set_ylabel("accuracy (batch)")
    bottom.set_xlabel("step")
    bottom.set_ylim(-0.02, 1.02)
    bottom.legend(loc="best")
    fig.tight_layout()
    out = Path(out)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
