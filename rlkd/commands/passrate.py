"""`rlkd passrate CONFIG`: estimate each train prompt's pass rate with the student before RL.

For every prompt of the train split, loaded and formatted exactly as training loads it (the same row checks and
prompt-length budget, so a prompt too long to train on is not estimated either), sample `passrate.k` completions
with the configured backend and every generation setting (rlkd.generation.offline), score them with the reward
named by `curriculum.reward` built from its spec in `rewards:` (args and batch_timeout included), and append one row
per prompt to `passrate.output` (the format: rlkd.data.passrates).

Resumable: a restart with the same command continues with the prompts not yet written. Each prompt's samples are
drawn under its own seed (`passrate.seed` and its row index), not its batch's: a run killed mid-batch resumes with
batches that start elsewhere, and still draws for every prompt what the uninterrupted run drew.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from curricula import pass_rate
from rlkd.config import RunConfig
from rlkd.data.passrates import append_pass_rate, dataset_keys, finished_rows, output_path

logger = logging.getLogger(__name__)


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


def prompt_seed(seed: int, row: int) -> int:
    """The seed of train row `row`'s samples: a function of the row alone, whatever batch it falls in."""
    return seed * 1_000_003 + row


def run_passrate(cfg: RunConfig) -> Path:
    from rlkd.console import Progress
    from rlkd.data.datasets import load_training_data
    from rlkd.generation.offline import Sampling, open_generator
    from rlkd.model import load_model_config, load_tokenizer
    from rlkd.training.rewards import close_rewards, resolve_reward

    judge = resolve_reward(cfg, cfg.curriculum.reward, required_by="curriculum.reward")
    out = output_path(cfg)
    train_ds, _ = load_training_data(cfg, load_tokenizer(cfg.model), load_model_config(cfg.model))
    keys = dataset_keys(train_ds)
    done = finished_rows(out, keys)
    todo = [i for i in range(len(keys)) if i not in done]
    if not todo:
        logger.info("all %d prompts already have pass rates in %s", len(keys), out)
        close_rewards([judge])
        return out
    if done:
        logger.info("resuming: %d of %d prompts already in %s", len(done), len(keys), out)
    out.parent.mkdir(parents=True, exist_ok=True)
    k, bs = cfg.passrate.k, cfg.passrate.batch_size
    generator = open_generator(cfg, batch_size=k * bs)  # one generate call per batch of prompts
    sampling = Sampling.from_config(cfg.generation, n=k)
    bar = Progress("passrate", len(keys), unit="prompt")
    bar.update(len(done))
    rates: list[float] = []
    try:
        for start in range(0, len(todo), bs):
            batch = todo[start : start + bs]
            rows = [train_ds[i] for i in batch]
            seeds = [prompt_seed(cfg.passrate.seed, i) for i in batch]
            outs = generator.generate([row["prompt"] for row in rows], sampling, seeds)
            texts = [[text for text, _ in group] for group in outs]
            for i, row, scores in zip(batch, rows, score_batch(judge, rows, texts)):
                rate, judged = pass_rate(scores)
                append_pass_rate(out, row, i, keys[i], rate, k, judged)
                rates += [rate] if rate is not None else []
            bar.update(len(done) + start + len(batch), **({"mean": sum(rates) / len(rates)} if rates else {}))
        bar.close()
    finally:
        generator.close()
        close_rewards([judge])
    logger.info("pass rates for %d prompts in %s", len(keys), out)
    return out
