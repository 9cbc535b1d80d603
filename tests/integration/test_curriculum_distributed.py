"""Two ranks on CPU (gloo) under `accelerate launch --num_processes 2`: both draw the same batches, each trains on
its own share of every group batch, and both end with the same pass-rate table.

On a CPU box the launch is torchrun's (`--multi_gpu`) with `grpo.use_cpu=true`, which makes accelerate choose
MULTI_CPU over gloo (`--cpu` alone starts a single process); tests/integration/launch.py starts it."""

import json

from tests.integration.launch import REPO, accelerate_launch


def _launch(tiny_config, out, overrides):
    worker = REPO / "tests" / "integration" / "dist_curriculum_worker.py"
    proc = accelerate_launch(str(worker), str(tiny_config), str(out), *overrides)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [json.loads((out / f"rank{r}.json").read_text()) for r in (0, 1)]


COMMON = [
    "curriculum.name=online",
    "wandb.mode=disabled",
    "grpo.max_steps=3",
    "grpo.save_steps=100",
    "grpo.per_device_train_batch_size=4",  # x 2 ranks = 8 completions = 2 prompts x 4 generations per step
    "grpo.use_cpu=true",
]


def test_two_ranks_draw_the_same_batches_and_hold_the_same_table(tiny_config, tmp_path):
    out = tmp_path / "ranks"
    out.mkdir()
    r0, r1 = _launch(tiny_config, out, [*COMMON, "curriculum.dynamic_sampling=true"])
    assert r0["world"] == r1["world"] == 2
    assert len(r0["gathered"]) == 3
    assert r0["history"] == r1["history"]  # the sampler decided the same chunks on both ranks
    assert r0["gathered"] == r1["gathered"]  # so both see the same global batch each step
    for step, (a, b) in enumerate(zip(r0["local"], r1["local"])):
        assert a + b == r0["gathered"][step]  # rank 0 holds the first half, rank 1 the second
        assert len(set(a)) == len(set(b)) == 1 and a != b  # each rank holds one whole group of 4, a different one
        assert sorted(set(a + b)) == sorted(r0["history"][step])  # and the groups are the decided chunk
    assert r0["table"] == r1["table"]  # every rank applied the same gathered observations
    assert sum(r0["table"]["observations"]) == 6  # 3 steps x 2 prompts


def test_two_ranks_refill_in_lockstep(tiny_config, tmp_path):
    out = tmp_path / "ranks"
    out.mkdir()
    reward = "tests.integration.test_refill:thirds"  # every third prompt settled, the rest informative
    overrides = [
        *COMMON,
        "curriculum.dynamic_sampling=refill",
        f"curriculum.reward={reward}",
        f"rewards=[{{name: accuracy}}, {{name: '{reward}', weight: 1.0}}]",
    ]
    r0, r1 = _launch(tiny_config, out, overrides)
    assert r0["refilling"] == r1["refilling"]  # the same scored calls, refill rounds included, on both ranks
    assert r0["gathered"] == r1["gathered"]  # each call gathered the same prompts
    assert any(r0["refilling"]), "no refill round ran: the test lost its point"
    for call, refilling in zip(r0["gathered"], r0["refilling"]):
        if refilling:  # extra prompts: each rank generated its own whole groups of different prompts
            local0 = r0["local"][r0["gathered"].index(call)]
            assert len(set(local0)) * 4 == len(local0)
    assert r0["curriculum"] == r1["curriculum"]  # sampler, reuse, RNG and table: identical on both ranks
    metrics = [m for m in r0["refill_metrics"] if m]
    assert metrics == [m for m in r1["refill_metrics"] if m] and len(metrics) == 3
    assert all(m["dynamic_sampling/trained_zero_variance_frac"] == 0.0 for m in metrics)  # rounds sufficed
