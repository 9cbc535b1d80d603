"""The CLI's contract for bad input: one line on stderr saying what to fix, exit code 2, no traceback."""

import subprocess
import sys

import pytest
import yaml

from tests.conftest import REPO


def _rlkd(*args, cwd=REPO):
    return subprocess.run(
        [sys.executable, "-m", "rlkd.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def _assert_one_line_error(proc, fragment):
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("rlkd: error: ")
    assert fragment in lines[0]
    assert "Traceback" not in proc.stderr


def test_missing_config_file():
    _assert_one_line_error(_rlkd("train", "missing.yaml"), "config file not found: missing.yaml")


def test_misspelt_key(tmp_path):
    raw = yaml.safe_load((REPO / "configs" / "tiny-cpu.yaml").read_text())
    raw["generation"]["temprature"] = raw["generation"].pop("temperature")
    path = tmp_path / "typo.yaml"
    path.write_text(yaml.safe_dump(raw))
    _assert_one_line_error(
        _rlkd("train", str(path)), "unknown key 'generation.temprature' (did you mean 'temperature'?)"
    )


def test_wrong_type_from_override():
    _assert_one_line_error(
        _rlkd("train", "configs/tiny-cpu.yaml", "grpo.learning_rate=abc"),
        "grpo.learning_rate must be a number; got str 'abc'",
    )


def test_missing_model_directory(tmp_path):
    proc = _rlkd(
        "train",
        "configs/tiny-cpu.yaml",
        f"model.name_or_path={tmp_path}/no-model",
        f"grpo.output_dir={tmp_path}/out",
        "wandb.mode=disabled",
    )
    _assert_one_line_error(proc, "model.name_or_path: no model directory at")


def test_unknown_reward_lists_known_ones(tmp_path):
    proc = _rlkd("train", "configs/tiny-cpu.yaml", "rewards.0.name=acuracy", f"grpo.output_dir={tmp_path}/out")
    _assert_one_line_error(proc, "unknown reward 'acuracy'; known rewards: accuracy, format")


@pytest.mark.parametrize("args", [["--help"], ["train", "--help"]])
def test_help(args):
    proc = _rlkd(*args)
    assert proc.returncode == 0
    assert "usage: rlkd" in proc.stdout


def test_version():
    proc = _rlkd("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("rlkd ")


def test_options_are_never_abbreviated():
    # the input that broke it: `--resum` was taken for --resume
    from rlkd.cli import main

    with pytest.raises(SystemExit) as e:
        main(["train", "configs/tiny-cpu.yaml", "--resum"])
    assert e.value.code == 2


def test_overrides_are_optional_in_usage_and_errors():
    proc = _rlkd("train")
    assert proc.returncode == 2
    usage = " ".join(proc.stderr.split())  # argparse wraps long usage lines
    assert "usage: rlkd train [-h] [--resume] [--force-config-change] [--restart] config [key=value ...]" in usage
    # argparse once listed the optional overrides as required: "required: config, key=value"
    assert "the following arguments are required: config\n" in proc.stderr


def test_every_verbs_arguments_have_help():
    import argparse

    from rlkd.cli import _parser

    parser = _parser()
    verbs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    missing = [
        f"{name} {action.dest}"
        for name, sub in verbs.items()
        for action in sub._actions
        if not isinstance(action, argparse._HelpAction) and not action.help
    ]
    assert missing == []
    assert all(sub.allow_abbrev is False for sub in verbs.values()) and parser.allow_abbrev is False
