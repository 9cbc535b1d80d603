"""Pure pieces of pass-rate estimation: the key that ties a prompt to its estimate, and the estimate itself.

`rlkd passrate` samples k completions per prompt and scores them; a prompt's pass rate is the mean accuracy over
the samples the reward could judge (None = cannot judge, left out, never counted as wrong). The key hashes the
prompt as the model sees it (chat messages, reasoning-mode line included) with its solution, so a pass-rate file is
joined to a dataset by content, and a file made for other data or another mode is detected instead of misapplied.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any


def prompt_key(prompt: Any, solution: Any) -> str:
    blob = json.dumps([prompt, solution], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha1(blob.encode()).hexdigest()[:20]


def pass_rate(scores: Sequence[float | None]) -> tuple[float | None, int]:
    """(mean of the judged scores or None if none was judged, number judged)."""
    judged = [float(s) for s in scores if s is not None and s == s]  # s == s drops NaN
    return (sum(judged) / len(judged) if judged else None), len(judged)
