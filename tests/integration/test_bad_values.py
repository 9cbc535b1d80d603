"""Every bad input an outside reliability test found printing a traceback (49 of 245) is now one line and exit
status 2 from `rlkd validate` — the checks `rlkd train` runs before it trains — on the tiny config. The CLI's entry
point runs in process here (the same `main` the console script calls), so the table stays fast."""

import json

import pytest
import yaml

from rlkd.cli import main
from tests.integration.test_bad_input import _with
from tests.unit.test_fuzz_config import _laughs, _nested

PLUGINS = {
    "bad_values_raises": "raise RuntimeError('boom at import')\n",
    "bad_values_syntax": "def f(:\n",
}


def _validate(capsys, config, *overrides):
    code = main(["validate", str(config), *overrides])
    err = capsys.readouterr().err.strip()
    return code, err


@pytest.mark.parametrize(
    "override, message",
    [
        ("grpo.learning_rate=.nan", "grpo.learning_rate must be in (0, 1], got nan"),
        ("grpo.learning_rate=-1e-6", "grpo.learning_rate must be in (0, 1]"),
        ("grpo.learning_rate=1e300", "grpo.learning_rate must be in (0, 1]"),
        ("grpo.num_generations=0", "grpo.num_generations must be >= 2"),
        ("grpo.per_device_train_batch_size=0", "grpo.per_device_train_batch_size must be >= 1"),
        ("grpo.gradient_accumulation_steps=0", "grpo.gradient_accumulation_steps must be >= 1"),
        ("grpo.dataloader_num_workers=-1", "grpo.dataloader_num_workers must be >= 0"),
        ("grpo.per_device_train_batch_size=7", "must be divisible by num_generations"),  # not whole groups
        ("generation.temperature=.nan", "generation.temperature must be > 0, got nan"),
        ("generation.top_k=-5", "generation.top_k must be >= 0"),
        ("generation.min_p=2", "generation.min_p must be in [0, 1]"),
        ("generation.repetition_penalty=-1", "generation.repetition_penalty must be > 0"),
        ("plugins=[bad_values_raises]", "plugins: cannot import 'bad_values_raises': RuntimeError: boom at import"),
        ("plugins=[bad_values_syntax]", "plugins: cannot import 'bad_values_syntax': SyntaxError"),
        ("rewards.0.name=:fn", "give both parts of package.module:function"),
        ("rewards.0.name='mod:'", "give both parts of package.module:function"),
        ("data.generator_args.max_digits=5000", "max_digits must be an integer in [1, 100], got 5000"),
        ("data.generator_args.min_digits=3", "need 1 <= min_digits <= max_digits, got 3, 2"),  # min > max
        ("data.generator_args.ops=[]", "ops must be a non-empty list"),
        ("data.generator_args.template='{foo}'", "template may use only the field {question}"),
        ("rewards.0.args=" + _laughs(9, 9), "expands to more than"),  # a billion laughs on the command line
    ],
)
def test_bad_values_are_one_line_and_exit_2(tiny_config, tmp_path, monkeypatch, capsys, override, message):
    for name, source in PLUGINS.items():
        (tmp_path / f"{name}.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    code, err = _validate(capsys, tiny_config, override)
    assert code == 2 and err.startswith("rlkd: error: ") and "\n" not in err, err
    assert message in err


def _edited(tiny_config, tmp_path, slot_path, body):
    """The tiny config with `body` (raw YAML) spliced in at `slot_path`."""
    raw = yaml.safe_load(tiny_config.read_text())
    node = raw
    for part in slot_path[:-1]:
        node = node.setdefault(part, {}) if isinstance(node, dict) else node[part]
    node[slot_path[-1]] = "SLOT"
    path = tmp_path / "edited.yaml"
    path.write_text(yaml.safe_dump(raw).replace("SLOT", body, 1))
    return path


@pytest.mark.parametrize(
    "slot, body, message",
    [
        (("rewards", 1, "args"), _laughs(9, 9), "expands to more than 100000 values"),  # hung for 150 s+
        (("sft", "args", "model_init_kwargs"), _laughs(9, 9), "expands to more than 100000 values"),
        (("grpo", "model_init_kwargs"), _laughs(9, 9), "expands to more than 100000 values"),
        (("rewards", 1, "args"), _nested(10_000, flow=True), "nested deeper than 64 levels"),
    ],
)
def test_yaml_bombs_are_one_line_and_exit_2(tiny_config, tmp_path, capsys, slot, body, message):
    code, err = _validate(capsys, _edited(tiny_config, tmp_path, slot, body))
    assert code == 2 and message in err and "\n" not in err, err


@pytest.mark.parametrize(
    "encoding, message",
    [
        ("utf-16", "is UTF-16-encoded; save it as UTF-8"),
        ("utf-16-le", "holds NUL bytes"),
        ("latin-1", "is not valid UTF-8"),
    ],
)
def test_non_utf8_configs_are_one_line_and_exit_2(tiny_config, tmp_path, capsys, encoding, message):
    path = tmp_path / "encoded.yaml"
    path.write_bytes(
        tiny_config.read_text().replace("generator: arithmetic", "generator: arithmétic").encode(encoding)
    )
    code, err = _validate(capsys, path)
    assert code == 2 and message in err and "\n" not in err, err


def test_a_thinking_column_of_ints_is_one_line_naming_the_row(tiny_config, tmp_path, capsys):
    rows = [{"prompt": f"{i}+{i}=", "solution": str(2 * i), "thinking": i % 3} for i in range(12)]
    data = tmp_path / "modes.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = _with(tiny_config, tmp_path, "modes", data={"path": str(data), "thinking": "none"})
    code, err = _validate(capsys, config)
    assert code == 2 and "\n" not in err, err
    assert "row 2: column 'thinking': 2 is not a reasoning mode" in err  # 0 and 1 are modes; 2 is not
