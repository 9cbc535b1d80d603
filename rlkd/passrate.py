"""`rlkd passrate CONFIG`: estimate each train prompt's pass rate with the student before RL.

For every prompt of the train split (formatted exactly as training will see it), sample `passrate.k` completions
with the configured backend and generation settings, score them with the reward named by `curriculum.reward`, and
append one JSONL row per prompt to `passrate.output`: the row's columns plus `row_index`, `prompt_key`,
`pass_rate` (mean over judged samples), `num_samples` and `num_judged`.

Resumable by construction: rows are appended (one write + fsync each) as each batch finishes, so a killed run loses
at most the batch in flight; a restart with the same command drops a torn last line, checks the rows belong to this
dataset, and samples only the prompts not yet written. Batches are seeded by their first row, so a resumed run
draws what the uninterrupted one would have.

Training reads the file through `curriculum.pass_rates` (matched by prompt_key, then filtered).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from curricula import pass_rate, prompt_key
from rlkd.config import ConfigError, RunConfig
from rlkd.io import append_jsonl, read_jsonl

logger = logging.getLogger(__name__)

DEFAULT_OUTPUT = "passrate.jsonl"


def output_path(cfg: RunConfig) -> Path:
    return Path(cfg.passrate.output) if cfg.passrate.output else cfg.output_dir / DEFAULT_OUTPUT


def resolve_judge(cfg: RunConfig):
    """The reward named by curriculum.reward, built with its args from rewards: (one source of truth)."""
    from rewards import get_reward, import_plugins

    import_plugins(cfg.plugins)
    for spec in cfg.rewards:
        if spec.name == cfg.curriculum.reward:
            return get_reward(spec.name, **spec.args)
    names = [r.name for r in cfg.rewards]
    raise ConfigError(f"curriculum.reward '{cfg.curriculum.reward}' is not one of the run's rewards {names}")


def drop_torn_tail(path: Path) -> None:
    """Cut an interrupted append (text after the last newline) so new rows start on a line of their own."""
    with open(path, "rb+") as f:
        data = f.read()
        end = data.rfind(b"\n") + 1
        if end < len(data):
            logger.warning("%s: dropping a torn last line left by an interrupted run", path)
            f.truncate(end)
            f.flush()
            os.fsync(f.fileno())


def finished_rows(path: Path, keys: list[str]) -> set[int]:
    """Row indices already in `path`, after checking each belongs to this dataset."""
    if not path.exists():
        return set()
    drop_torn_tail(path)
    try:
        records = read_jsonl(path)
    except json.JSONDecodeError as e:
        raise ConfigError(f"passrate.output '{path}' is corrupt ({e}): move it away and rerun") from None
    done = set()
    for rec in records:
        i = rec.get("row_index")
        if not isinstance(i, int) or i >= len(keys) or rec.get("prompt_key") != keys[i]:
            raise ConfigError(
                f"passrate.output '{path}' holds rows for other data (row_index {i} does not match this config's "
                "train split): set passrate.output to a new path, or delete the file"
            )
        done.add(i)
    return done


def score_batch(judge, rows: list[dict[str, Any]], texts: list[list[str]]) -> list[list[float | None]]:
    """One reward call for the whole batch, with TRL's arguments: prompts, conversational completions, columns."""
    flat_rows = [row for row, group in zip(rows, texts) for _ in group]
    completions = [[{"role": "assistant", "content": t}] for group in texts for t in group]
    columns = {k: [row[k] for row in flat_rows] for k in flat_rows[0] if k != "prompt"}
    scores = judge(completions, prompts=[row["prompt"] for row in flat_rows], **columns)
    out, at = [], 0
    for group in texts:
        out.append(list(scores[at : at + len(group)]))
        at += len(group)
    return out


def run_passrate(cfg: RunConfig) -> Path:
    from tqdm.auto import tqdm

    from rlkd.data import load_splits
    from rlkd.sampling import make_sample_fn

    judge = resolve_judge(cfg)
    out = output_path(cfg)
    train_ds, _ = load_splits(cfg.data)
    keys = [prompt_key(p, s) for p, s in zip(train_ds["prompt"], train_ds["solution"])]
    done = finished_rows(out, keys)
    todo = [i for i in range(len(keys)) if i not in done]
    if not todo:
        logger.info("all %d prompts already have pass rates in %s", len(keys), out)
        return out
    if done:
        logger.info("resuming: %d of %d prompts already in %s", len(done), len(keys), out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sample = make_sample_fn(cfg)
    k, bs = cfg.passrate.k, cfg.passrate.batch_size
    try:
        with tqdm(total=len(keys), initial=len(done), unit="prompt", desc="pass rates", dynamic_ncols=True) as bar:
            for start in range(0, len(todo), bs):
                batch = todo[start : start + bs]
                rows = [train_ds[i] for i in batch]
                texts = sample([row["prompt"] for row in rows], k, cfg.passrate.seed * 1_000_003 + batch[0])
                for i, row, scores in zip(batch, rows, score_batch(judge, rows, texts)):
                    rate, judged = pass_rate(scores)
                    record = {**row, "row_index": i, "prompt_key": keys[i], "pass_rate": rate, "num_samples": k}
                    append_jsonl(out, {**record, "num_judged": judged})
                bar.update(len(batch))
    finally:
        verifier = getattr(judge, "verifier", None)  # math-verify's worker process, if the reward has one
        if verifier is not None:
            verifier.close()
    logger.info("pass rates for %d prompts in %s", len(keys), out)
    return out
