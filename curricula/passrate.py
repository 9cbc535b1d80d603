"""A prompt's pass rate from its k scored samples.

`rlkd passrate` samples k completions per prompt and scores them; the pass rate is the mean accuracy over the
samples the reward could judge (None = cannot judge, left out, never counted as wrong). The file those estimates
live in belongs to rlkd (rlkd.data.passrates); this is only the arithmetic.
"""

from __future__ import annotations

from collections.abc import Sequence


def pass_rate(scores: Sequence[float | None]) -> tuple[float | None, int]:
    """(mean of the judged scores or None if none was judged, number judged)."""
    judged = [float(s) for s in scores if s is not None and s == s]  # s == s drops NaN
    return (sum(judged) / len(judged) if judged else None), len(judged)
