"""The one reward resolution: a config's `rewards:` entries → callables, for train, passrate, eval and validate alike.

Every stage builds a reward from its whole spec (name, args, batch_timeout, isolation) here, after importing the
config's plugins, so a reward scores the same way in `rlkd passrate`, in training and in `rlkd eval` (a second copy
of this once dropped `batch_timeout` and another ignored `args`).
"""

from __future__ import annotations

from collections.abc import Iterable

from rlkd.config import RewardSpec, RunConfig
from rlkd.errors import ConfigError


def build_reward(spec: RewardSpec):
    """The reward of `spec`: a plug-in starts its worker process here (unless `isolate: false`), so one that cannot be
    imported or built there is a one-line error now, not at step 1."""
    from rewards import get_reward

    return get_reward(
        spec.name,
        batch_timeout=spec.batch_timeout,
        isolate=spec.isolate,
        memory_limit_mb=spec.memory_limit_mb,
        **spec.args,
    )


def resolve_rewards(cfg: RunConfig) -> list:
    """Reward callables in config order (TRL pairs them with `reward_weights` by position)."""
    from rewards import import_plugins

    import_plugins(cfg.plugins)
    return [build_reward(spec) for spec in cfg.rewards]


def metric_name(spec_name: str) -> str:
    """The name a reward logs under: its registry name, or the function of a `package.module:function`."""
    return spec_name.rpartition(":")[2]


def find_spec(cfg: RunConfig, name: str) -> RewardSpec | None:
    """The run's reward spec called `name`: by its config name, or by the name it logs under
    (`cites_units` finds `my_pkg.rewards:cites_units`)."""
    for spec in cfg.rewards:
        if spec.name == name:
            return spec
    matches = [spec for spec in cfg.rewards if metric_name(spec.name) == name]
    return matches[0] if len(matches) == 1 else None


def resolve_reward(cfg: RunConfig, name: str, required_by: str | None = None):
    """The run's reward called `name` (see `find_spec`), built from its spec, so it scores as it does in training.
    When the run has none by that name: the registry's (or `module:function`'s) default when `required_by` is None,
    else an error naming the setting (`required_by`) that asked for it."""
    from rewards import import_plugins

    import_plugins(cfg.plugins)
    spec = find_spec(cfg, name)
    if spec is not None:
        return build_reward(spec)
    if required_by is not None:
        names = [r.name for r in cfg.rewards]
        raise ConfigError(f"{required_by} '{name}' is not one of the run's rewards {names}")
    return build_reward(RewardSpec(name=name))


def close_rewards(funcs: Iterable) -> None:
    """Release what the rewards hold (math-verify's worker processes) when a stage is done with them."""
    for fn in funcs:
        close = getattr(fn, "close", None)
        if callable(close):
            close()
