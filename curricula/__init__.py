"""Pass-rate filtering and curriculum samplers: pure functions over arrays and small checkpointable samplers.

    from curricula import GaussianCurriculum, filter_by_pass_rate
    rows = filter_by_pass_rate(rows, max_pass_rate=0.75)
    for batch in GaussianCurriculum([r["pass_rate"] for r in rows], batch_size=72, num_batches=500): ...

Independent of rlkd's trainer (and of torch): rlkd adapts these samplers to TRL in rlkd/training/sampler.py.
"""

from curricula.filter import FilterReport, filter_by_pass_rate, pass_rate_filter
from curricula.gaussian import (
    GaussianCurriculum,
    allocate,
    gaussian_targets,
    gaussian_weights,
    pass_rate_levels,
    round_to_total,
    schedule_centre,
)
from curricula.groups import GroupStats, group_stats
from curricula.online import OnlineCurriculum
from curricula.passrate import pass_rate
from curricula.pool import PassPool
from curricula.protocol import Curriculum, CurriculumError
from curricula.stratified import StratifiedCurriculum
from curricula.table import PassRateTable
from curricula.uniform import UniformCurriculum

__all__ = [
    "Curriculum",
    "CurriculumError",
    "FilterReport",
    "GaussianCurriculum",
    "GroupStats",
    "OnlineCurriculum",
    "PassPool",
    "PassRateTable",
    "StratifiedCurriculum",
    "UniformCurriculum",
    "allocate",
    "filter_by_pass_rate",
    "gaussian_targets",
    "gaussian_weights",
    "group_stats",
    "pass_rate",
    "pass_rate_filter",
    "pass_rate_levels",
    "round_to_total",
    "schedule_centre",
]
