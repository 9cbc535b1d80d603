"""`rlkd eval` end to end on the tiny student: two models side by side, per mode, eval.json and W&B offline."""

import json

import pytest
import yaml

from rlkd.cli import main

SMALL = ["eval.num_samples=2", "eval.pass_k=[1, 2]", "eval.max_examples=6", "eval.max_new_tokens=12"]
METRICS = {"accuracy", "format", "completion_length", "num_problems", "pass@1", "pass@2"}


@pytest.fixture
def mixed_config(tiny_config):
    raw = yaml.safe_load(tiny_config.read_text())
    raw["data"].update(thinking="mixed")
    raw["wandb"]["mode"] = "offline"
    tiny_config.write_text(yaml.safe_dump(raw))
    return tiny_config


def test_two_models_side_by_side(mixed_config, tiny_model_dir, tmp_path, capsys):
    from rlkd.demo.tiny import save_tiny_model

    other = save_tiny_model(tmp_path / "other", seed=1)
    out = tmp_path / "report" / "eval.json"
    # overrides may come before or after the options
    argv = [
        "eval",
        str(mixed_config),
        SMALL[0],
        "--model",
        str(tiny_model_dir),
        "--model",
        str(other),
        "--out",
        str(out),
        *SMALL[1:],
    ]
    assert main(argv) == 0
    report = json.loads(out.read_text())
    assert [m["path"] for m in report["models"]] == [str(tiny_model_dir), str(other)]
    assert report["settings"]["num_samples"] == 2 and report["settings"]["max_new_tokens"] == 12
    for model in report["models"]:
        assert set(model["modes"]) == {"on", "off"}  # mixed data: every problem asked in both modes
        for metrics in model["modes"].values():
            assert set(metrics) == METRICS
            assert metrics["num_problems"] == 6
            for key in ("accuracy", "format", "pass@1", "pass@2"):
                assert 0.0 <= metrics[key] <= 1.0
            assert metrics["pass@1"] <= metrics["pass@2"]  # more samples never pass less often
            assert 1.0 <= metrics["completion_length"] <= 12  # at most max_new_tokens
    # an untrained student never closes a think block, so thinking-on format compliance is 0
    assert report["models"][0]["modes"]["on"]["format"] == 0.0
    table = capsys.readouterr().out
    assert tiny_model_dir.name in table and "other" in table and "pass@2" in table  # the side-by-side table is printed
    assert list((out.parent / "wandb").glob("offline-run-*")), "the eval is logged to W&B (offline here)"


def test_greedy_eval_is_deterministic(mixed_config, tiny_model_dir, tmp_path):
    # Same model twice under the same seed: identical numbers, so two models are compared on equal terms
    out = tmp_path / "eval.json"
    assert (
        main(
            [
                "eval",
                str(mixed_config),
                "--model",
                str(tiny_model_dir),
                "--model",
                str(tiny_model_dir),
                "--out",
                str(out),
                "wandb.mode=disabled",
                *SMALL,
            ]
        )
        == 0
    )
    first, second = json.loads(out.read_text())["models"]
    assert first["modes"] == second["modes"]
    assert [first["label"], second["label"]] == [tiny_model_dir.name, f"{tiny_model_dir.name}#2"]


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--model", "/nonexistent/model"], "could not be loaded"),  # a wrong path: one line, exit 2
        (["--model", "M", "eval.pass_k=[9]"], "eval.pass_k values must be in"),  # k larger than the samples
    ],
)
def test_bad_eval_input_is_one_line(mixed_config, capsys, extra, message):
    assert main(["eval", str(mixed_config), *extra]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("rlkd: error:")]
    assert len(errors) == 1 and message in errors[0]


def test_eval_scores_with_the_runs_accuracy_args_and_samples_with_every_generation_setting(
    mixed_config, tiny_model_dir, tmp_path, monkeypatch
):
    import rewards.registry
    from rlkd.commands.eval import run_eval
    from rlkd.config import load_config
    from rlkd.generation.offline import TransformersGenerator

    built, samplings = [], []
    real_factory = rewards.registry._REGISTRY["accuracy"]
    real_generate = TransformersGenerator.generate

    def factory(**args):
        built.append(args)
        return real_factory(**args)

    def generate(self, prompts, sampling, seed, template_kwargs=None):
        samplings.append(sampling)
        return real_generate(self, prompts, sampling, seed, template_kwargs)

    monkeypatch.setitem(rewards.registry._REGISTRY, "accuracy", factory)
    monkeypatch.setattr(TransformersGenerator, "generate", generate)
    overrides = [
        *SMALL,
        "rewards.0.args={timeout: 2.5, workers: 1}",  # the run's accuracy reward, as training builds it
        "generation.top_k=5",
        "generation.min_p=0.05",
        "generation.repetition_penalty=1.2",
    ]
    report = run_eval(load_config(mixed_config, overrides), [str(tiny_model_dir)], tmp_path / "eval.json")
    assert built == [{"timeout": 2.5, "workers": 1}]  # eval once built accuracy with the defaults
    greedy, sampled = samplings[0], samplings[1]
    assert greedy.greedy and greedy.repetition_penalty == 1.2
    assert (sampled.n, sampled.top_k, sampled.min_p, sampled.repetition_penalty) == (2, 5, 0.05, 1.2)
    assert (sampled.max_new_tokens, greedy.max_new_tokens) == (12, 12)  # eval.max_new_tokens wins over the run's
    assert set(report["models"][0]["modes"]) == {"on", "off"}
