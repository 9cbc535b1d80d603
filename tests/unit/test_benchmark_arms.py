"""The curriculum benchmarks compare arms of the demo's GRPO stage, so each arm must run the sampling it names.

They once tested the merged config's `curriculum.name`, which the demo config leaves at its default (`uniform`):
every arm then ran uniform sampling, and demo_seeds disagreed with `make demo` on the same student and seed.
"""

import importlib.util
import sys

import pytest

from tests.conftest import REPO


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(REPO / "benchmarks"))  # curriculum_efficiency imports demo_seeds as a sibling
    try:
        spec = importlib.util.spec_from_file_location(
            "curriculum_efficiency", REPO / "benchmarks" / "curriculum_efficiency.py"
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(REPO / "benchmarks"))


@pytest.mark.parametrize(
    "arm, uniform",
    [
        (["curriculum.name=uniform"], True),
        (["curriculum.name='uniform'", "grpo.max_steps=4"], True),
        ([], False),
        (["curriculum.dynamic_sampling=mask"], False),
        (["curriculum.name=online"], False),
    ],
)
def test_an_arm_asks_for_uniform_only_by_its_own_overrides(bench, arm, uniform):
    from demo_seeds import asks_uniform

    assert asks_uniform(arm) is uniform


def test_each_arm_runs_the_sampling_it_names(bench, tmp_path):
    config = str(REPO / "configs" / "tiny-cpu.yaml")
    runs = {name: bench.arm_config(config, [], name, 1, tmp_path, tmp_path / name) for name in bench.ARMS}
    assert runs["vanilla"].curriculum.name == "uniform" and runs["vanilla"].curriculum.pass_rates is None
    for name in ("paper", "filter+gaussian+mask", "filter+gaussian+refill"):
        assert runs[name].curriculum.name == "gaussian", name
        assert runs[name].curriculum.pass_rates == str(tmp_path / "passrate.jsonl"), name
    assert runs["online+refill+skip"].curriculum.name == "online"
    assert (
        runs["paper"].curriculum.min_pass_rate is None and runs["filter+gaussian+mask"].curriculum.min_pass_rate == 0.0
    )
    assert runs["filter+gaussian+refill"].curriculum.dynamic_sampling == "refill"
    assert {r.grpo["seed"] for r in runs.values()} == {1}
    assert all(r.wandb.mode == "disabled" for r in runs.values())


def test_batch_signal_counts_what_each_dynamic_sampling_trains(bench):
    off = {"curriculum/frac_zero_variance_groups": 0.5, "curriculum/frac_masked": 0.0}
    mask = {"curriculum/frac_zero_variance_groups": 0.25, "curriculum/frac_masked": 0.25}
    refill = {
        "curriculum/frac_zero_variance_groups": 0.5,
        "dynamic_sampling/trained_groups": 16,
        "dynamic_sampling/trained_zero_variance_frac": 0.125,
        "curriculum/frac_masked": 0.125,
    }
    vanilla = {"curriculum/frac_zero_variance_groups": 0.75}  # no curriculum: nothing masked, nothing refilled
    assert bench.batch_signal([off], 16) == {
        "zero_variance_drawn": 0.5,
        "zero_variance_trained": 0.5,
        "informative_groups": 8,
    }
    assert bench.batch_signal([mask], 16)["zero_variance_trained"] == 0.0  # masked groups are out of the batch
    assert bench.batch_signal([mask], 16)["informative_groups"] == 12
    assert bench.batch_signal([refill], 16)["informative_groups"] == 14
    both = bench.batch_signal([vanilla, off], 16)
    assert both["zero_variance_trained"] == 0.625 and both["informative_groups"] == 4 + 8


def test_demo_seeds_uniform_arm_keeps_the_filtered_pool(bench, tmp_path):
    from demo_seeds import arm_config

    config = str(REPO / "configs" / "tiny-cpu.yaml")
    demo = arm_config(config, [], tmp_path, [], 0, tmp_path / "demo")
    uniform = arm_config(config, [], tmp_path, ["curriculum.name=uniform"], 0, tmp_path / "uniform")
    assert demo.curriculum.name == "gaussian" and demo.grpo["output_dir"] == str(tmp_path / "demo")
    assert uniform.curriculum.name == "uniform" and uniform.curriculum.pass_rates == str(tmp_path / "passrate.jsonl")
