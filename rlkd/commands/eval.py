"""`rlkd eval CONFIG --model PATH [--model PATH2]`: held-out accuracy per reasoning mode, models side by side.

For each model and each mode (both, when data.thinking is mixed: every held-out problem is asked in each mode, so
the modes are compared on the same problems), on the data's eval split:
- accuracy: greedy decoding, scored by the run's correctness reward (eval.reward, else curriculum.reward, i.e.
  `accuracy` unless set), built from the run's own spec (its answer style, a judge's endpoint, a plug-in's args);
- pass@k: `eval.num_samples` samples per problem at the GRPO sampling temperature, with the unbiased estimator of
  Chen et al. 2021 (k ≤ n). pass@k well above greedy accuracy is the headroom GRPO can turn into accuracy;
- format: the share of greedy completions the format reward accepts for that mode;
- completion_length: mean generated tokens per greedy completion, the end-of-turn token included (as TRL counts).

Generation goes through rlkd.generation.offline (the run's backend and every generation setting; eval.temperature,
eval.top_p and eval.max_new_tokens override theirs), on the chat template with add_generation_prompt (what GRPO
samples from), rendered row by row so that per-row template arguments (enable_thinking) apply. Accuracy, format
and the rewards in eval.rewards (`reward/<name>`: their mean over the greedy completions) are resolved by
rlkd.training.rewards.resolve_reward from the run's specs (the built-ins' defaults when the run has none by that
name), and get every dataset column, as in training. Results go to eval.json, written atomically, and to W&B.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Sequence
from math import comb
from pathlib import Path
from typing import Any

from rlkd.config import ConfigError, RunConfig
from rlkd.io import atomic_write_json

logger = logging.getLogger(__name__)

EVAL_FILE = "eval.json"


# ---------------------------------------------------------------------------------------------------------------
# Metrics: pure functions


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n samples of which c are correct: 1 − C(n−c, k) / C(n, k)."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n; got n={n}, c={c}, k={k}")
    if n - c < k:  # every k-subset holds a correct sample
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


def mean_valid(values: Sequence[float | None]) -> float | None:
    """Mean over values that are not None/NaN ("cannot judge"); None when nothing is left."""
    kept = [float(v) for v in values if v is not None and not math.isnan(v)]
    return sum(kept) / len(kept) if kept else None


def mode_summary(
    greedy_accuracy: Sequence[float | None],
    greedy_format: Sequence[float | None],
    greedy_lengths: Sequence[int],
    sample_accuracy: Sequence[Sequence[float | None]],
    ks: Sequence[int],
) -> dict[str, Any]:
    """One mode's metrics. `sample_accuracy[i]` holds problem i's n sampled verdicts; a problem whose verdicts
    include None (its solution cannot be parsed) is left out of pass@k, like it is left out of accuracy."""
    out: dict[str, Any] = {
        "accuracy": mean_valid(greedy_accuracy),
        "format": mean_valid(greedy_format),
        "completion_length": mean_valid(greedy_lengths),
        "num_problems": len(greedy_accuracy),
    }
    judged = [s for s in sample_accuracy if s and all(v is not None for v in s)]
    for k in ks:
        scores = [pass_at_k(len(s), sum(v >= 1.0 for v in s), k) for s in judged]
        out[f"pass@{k}"] = sum(scores) / len(scores) if scores else None
    return out


Completion = tuple[str, int]  # (text, generated tokens)


def score_mode(
    greedy: Sequence[Completion],
    samples: Sequence[Sequence[Completion]],
    prompts: Sequence[Any],
    solutions: Sequence[str],
    thinking: Sequence[bool] | None,
    accuracy,
    fmt,
    ks: Sequence[int],
    columns: dict[str, Sequence[Any]] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Score one mode's completions (one greedy and n samples per problem) with reward functions of TRL's signature.
    `columns`: the rows' other dataset columns, passed to every reward as TRL passes them; `extra`: more rewards
    (name → function), reported as `reward/<name>`, the mean over the greedy completions."""
    n = len(samples[0]) if samples else 0
    texts = [t for t, _ in greedy]
    flat = [t for group in samples for t, _ in group]
    columns = dict(columns or {})
    per_problem = dict(columns, solution=solutions, prompts=prompts, thinking=thinking)
    repeated = {
        k: [v for v in values for _ in range(n)] if values is not None else None for k, values in per_problem.items()
    }
    flat_acc = accuracy(flat, **repeated)
    summary = mode_summary(
        greedy_accuracy=accuracy(texts, **per_problem),
        greedy_format=fmt(texts, **per_problem),
        greedy_lengths=[length for _, length in greedy],
        sample_accuracy=[flat_acc[i : i + n] for i in range(0, len(flat_acc), n)],
        ks=ks,
    )
    for name, fn in (extra or {}).items():
        summary[f"reward/{name}"] = mean_valid(fn(texts, **per_problem))
    return summary


# ---------------------------------------------------------------------------------------------------------------
# Held-out prompts per mode


def eval_modes(thinking: str) -> list[str]:
    return {"mixed": ["on", "off"], "on": ["on"], "off": ["off"], "none": ["none"]}[thinking]


def eval_rows(cfg: RunConfig) -> dict[str, Any]:
    """mode → the held-out rows formatted in that mode. A row without a mode of its own is asked in every mode of
    data.thinking (so the modes are compared on the same problems); a row with its own mode (a thinking column, a
    mode line in its prompt) only in that mode, even one data.thinking does not list."""
    from rlkd.data.datasets import format_dataset, own_modes, raw_rows

    _, rows = raw_rows(cfg.data)  # dicts, not Arrow: a file may mix plain-text and chat prompts
    if rows is None:
        raise ConfigError(
            "rlkd eval needs held-out data: set data.eval_path (a file of held-out rows), data.eval_split (a split of "
            "a dataset dir or Hub dataset) or data.eval_fraction (a seeded share of the train rows)"
        )
    if cfg.eval.max_examples is not None:
        rows = rows[: cfg.eval.max_examples]
    own = [None if m is None else ("on" if m else "off") for m in own_modes(rows, cfg.data, "eval")]
    asked = eval_modes(cfg.data.thinking)
    out = {}
    for mode in [*asked, *sorted({m for m in own if m is not None} - set(asked))]:
        picked = [r for r, m in zip(rows, own) if m == mode or (m is None and mode in asked)]
        if picked:
            out[mode] = format_dataset(picked, dataclasses.replace(cfg.data, thinking=mode), seed=1)
    return out


# ---------------------------------------------------------------------------------------------------------------
# Running an eval


def evaluate_model(cfg: RunConfig, path: str, rows_by_mode: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """mode → metrics for the model at `path`."""
    from rlkd.data.datasets import chat_template_kwargs
    from rlkd.generation.offline import Sampling, open_generator
    from rlkd.training.rewards import close_rewards, resolve_reward

    ev = cfg.eval
    generator = open_generator(cfg, path, batch_size=ev.batch_size)
    try:
        cfg = _with_template_facts(
            cfg, generator.tokenizer, rows_by_mode
        )  # this model's template, this model's format
    except BaseException:
        generator.close()
        raise
    accuracy, fmt = resolve_reward(cfg, accuracy_reward_name(cfg)), resolve_reward(cfg, "format")  # the run's specs
    extra = {name: resolve_reward(cfg, name) for name in ev.rewards}
    common = dict(temperature=ev.temperature, top_p=ev.top_p, max_new_tokens=ev.max_new_tokens)
    greedy_sampling = Sampling.from_config(cfg.generation, n=1, greedy=True, **common)
    sampled = Sampling.from_config(cfg.generation, n=ev.num_samples, **common)
    from rlkd.console import Progress

    bar = Progress(f"eval {Path(path).name}"[:24], len(rows_by_mode), unit="mode")
    results = {}
    try:
        for mode, rows in rows_by_mode.items():
            prompts, solutions = list(rows["prompt"]), list(rows["solution"])
            thinking = list(rows["thinking"]) if "thinking" in rows.column_names else None
            columns = {c: list(rows[c]) for c in rows.column_names if c not in ("prompt", "solution", "thinking")}
            kwargs = [chat_template_kwargs(cfg.data, t) for t in thinking] if thinking else None
            greedy = [c[0] for c in generator.generate(prompts, greedy_sampling, ev.seed, kwargs)]
            samples = generator.generate(prompts, sampled, ev.seed, kwargs)
            results[mode] = score_mode(
                greedy, samples, prompts, solutions, thinking, accuracy, fmt, ev.pass_k, columns, extra
            )
            logger.debug("eval %s [%s]: %s", path, mode, results[mode])
            bar.update(len(results), **{f"acc({mode})": results[mode]["accuracy"]})
        bar.close()
    finally:
        generator.close()
        close_rewards([accuracy, fmt, *extra.values()])
    return results


def _with_template_facts(cfg: RunConfig, tokenizer, rows_by_mode: dict[str, Any]) -> RunConfig:
    """The config with `format` told whether this model's chat template opens <think> itself (as training does,
    rlkd.training.template_check), rendered on the first held-out row of each mode."""
    from datasets import Dataset

    from rlkd.config import RewardSpec
    from rlkd.training.template_check import check_chat_template

    if not any(s.name == "format" for s in cfg.rewards):  # eval reports format either way: as the default reward
        cfg = dataclasses.replace(cfg, rewards=[*cfg.rewards, RewardSpec(name="format")])
    probe = Dataset.from_list([rows[0] for rows in rows_by_mode.values() if len(rows)])
    return check_chat_template(cfg, tokenizer, probe)


def accuracy_reward_name(cfg: RunConfig) -> str:
    """The reward eval scores accuracy with: eval.reward, else the run's correctness reward (curriculum.reward)."""
    return cfg.eval.reward or cfg.curriculum.reward


def model_labels(paths: Sequence[str]) -> list[str]:
    """Short, unique names for the models (the directory name), for tables and W&B keys."""
    labels: list[str] = []
    for p in paths:
        base = Path(p.rstrip("/")).name or p
        label, i = base, 2
        while label in labels:
            label, i = f"{base}#{i}", i + 1
        labels.append(label)
    return labels


def run_eval(cfg: RunConfig, model_paths: Sequence[str], out: str | Path | None = None) -> dict[str, Any]:
    """Evaluate each model on the held-out split; write eval.json (atomically) and log to W&B; return the report."""
    from rlkd.config import to_dict
    from rlkd.model import load_model_config
    from rlkd.training.tracking import start_wandb

    out = Path(out) if out is not None else cfg.output_dir / EVAL_FILE
    for path in model_paths:  # a wrong path fails in a second, before any data is built or generated
        load_model_config(dataclasses.replace(cfg.model, name_or_path=path), "--model")
    rows = eval_rows(cfg)
    ev, gen = cfg.eval, cfg.generation
    report: dict[str, Any] = {
        "split": "eval",
        "modes": list(rows),
        "settings": {
            "num_samples": ev.num_samples,
            "pass_k": list(ev.pass_k),
            "seed": ev.seed,
            "temperature": ev.temperature or gen.temperature,
            "top_p": ev.top_p or gen.top_p,
            "max_new_tokens": ev.max_new_tokens or gen.max_completion_length,
            "accuracy_reward": accuracy_reward_name(cfg),
        },
        "models": [],
    }
    for label, path in zip(model_labels(model_paths), model_paths):
        report["models"].append({"label": label, "path": str(path), "modes": evaluate_model(cfg, path, rows)})
    atomic_write_json(out, report)
    wandb_cfg = dataclasses.replace(
        cfg.wandb, tags=[*cfg.wandb.tags, "eval"], name=f"{cfg.wandb.name}-eval" if cfg.wandb.name else None
    )
    run = start_wandb(wandb_cfg, out.parent, {**to_dict(cfg), "eval_models": list(map(str, model_paths))})
    if run is not None:
        try:
            log_to_wandb(run, report)
        finally:
            run.finish()
    return report


def flat_metrics(report: dict[str, Any]) -> dict[str, float]:
    """`eval/<model>/<mode>/<metric>` → value, for W&B summaries."""
    return {
        f"eval/{m['label']}/{mode}/{key}": value
        for m in report["models"]
        for mode, metrics in m["modes"].items()
        for key, value in metrics.items()
        if isinstance(value, (int, float))
    }


def log_to_wandb(run, report: dict[str, Any]) -> None:
    import wandb

    columns = ["model", "mode", *_metric_names(report)]
    table = wandb.Table(columns=columns)
    for row in table_rows(report):
        table.add_data(*row)
    run.log({**flat_metrics(report), "eval/table": table})


def _metric_names(report: dict[str, Any]) -> list[str]:
    first = report["models"][0]["modes"] if report["models"] else {}
    return list(next(iter(first.values()), {}))


def table_rows(report: dict[str, Any]) -> list[list[Any]]:
    names = _metric_names(report)
    return [
        [m["label"], mode, *(metrics.get(k) for k in names)]
        for m in report["models"]
        for mode, metrics in m["modes"].items()
    ]


def format_table(report: dict[str, Any]) -> str:
    """The report as an aligned text table, one row per (model, mode), for the terminal."""
    header = ["model", "mode", *_metric_names(report)]
    rows = [[str(c) if not isinstance(c, float) else f"{c:.3f}" for c in row] for row in table_rows(report)]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    return "\n".join("  ".join(str(x).ljust(w) for x, w in zip(r, widths)) for r in [header, *rows])
