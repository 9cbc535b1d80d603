"""The chat template is rendered at validate/train time: a template that opens `<think>` itself is detected (the
format reward's template_prefills_think set or checked) and think tags that vanish on decode are an error.

The inputs that broke it (issue 13): a Llama student with untied embeddings and a DeepSeek-R1-style template that
ends the generation prompt with `<think>\\n`, where forgetting `template_prefills_think` zeroed format for every
thinking-on sample without a word; and think tags registered as special tokens, which passed `rlkd validate`.
The student here is such a Llama, built locally (random init, the tiny byte-level tokenizer)."""

import json

import pytest
import yaml

from rlkd.commands.validate import validate
from rlkd.config import ConfigError, load_config
from rlkd.demo.tiny import CHAT_TEMPLATE, build_tokenizer

# DeepSeek-R1's shape: the assistant turn opens with <think> whatever the mode.
R1_TEMPLATE = CHAT_TEMPLATE.replace("'<|assistant|>'", "'<|assistant|><think>\\n'")
# Llama-Nemotron-R1's shape: <think> only when the system message turns thinking on.
NEMOTRON_TEMPLATE = CHAT_TEMPLATE.replace(
    "{{ '<|assistant|>' }}",
    "{{ '<|assistant|>' }}{%- if messages[0]['content'].endswith('detailed thinking on') -%}{{ '<think>\\n' }}"
    "{%- endif -%}",
)


def _llama(path, template, special_think=False):
    """A 2-layer Llama with untied input/output embeddings and the given chat template."""
    import torch
    from tokenizers import AddedToken
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = build_tokenizer()
    tok.chat_template = template
    if special_think:  # as some tokenizers ship them: decoding with skip_special_tokens drops them
        tok.add_special_tokens(
            {
                "additional_special_tokens": [
                    AddedToken(t, special=True, normalized=False) for t in ("<think>", "</think>")
                ]
            }
        )
    config = LlamaConfig(
        vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=2,
        num_key_value_heads=1, head_dim=32, max_position_embeddings=512, tie_word_embeddings=False,
        pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id, bos_token_id=None,
    )  # fmt: skip
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    assert model.lm_head.weight.data_ptr() != model.model.embed_tokens.weight.data_ptr()  # untied
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def students(tmp_path_factory):
    root = tmp_path_factory.mktemp("llama")
    return {
        "r1": _llama(root / "r1", R1_TEMPLATE),
        "nemotron": _llama(root / "nemotron", NEMOTRON_TEMPLATE),
        "special": _llama(root / "special", CHAT_TEMPLATE, special_think=True),
    }


def _config(tiny_config, tmp_path, model, thinking="on", format_args=None):
    raw = yaml.safe_load(tiny_config.read_text())
    raw["model"]["name_or_path"] = str(model)
    raw["data"]["thinking"] = thinking
    raw["rewards"] = [{"name": "accuracy"}, {"name": "format", "weight": 0.5, "args": format_args or {}}]
    raw["wandb"]["mode"] = "disabled"
    raw["grpo"]["max_steps"] = 2
    path = tmp_path / "llama.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_an_r1_template_is_detected_and_format_scores_the_prefilled_think(tiny_config, tmp_path, students):
    from rlkd.training.builder import check_inputs

    config = _config(tiny_config, tmp_path, students["r1"])
    report = validate(str(config))
    assert "chat template ok; it opens <think> itself: format scores with template_prefills_think: true" in report
    checked = check_inputs(load_config(config))
    fmt = checked.reward_funcs[1]
    # the completion starts inside the block the template opened: well-formed, so 1.0 (it was 0.0 before)
    row = checked.train_dataset[0]
    assert fmt(["add 2 and 3\n</think>\n5"], prompts=[row["prompt"]], thinking=[True]) == [1.0]
    assert checked.cfg.rewards[1].args == {"template_prefills_think": True}


def test_training_the_untied_llama_with_the_r1_template(tiny_config, tmp_path, students):
    from rlkd.commands.train import run_training
    from rlkd.io import read_jsonl

    out = run_training(load_config(_config(tiny_config, tmp_path, students["r1"])))
    steps = [r for r in read_jsonl(out / "metrics.jsonl") if "loss" in r]
    assert [r["step"] for r in steps] == [1, 2]
    # what the user wrote is what the run records (the detected setting is not written into their config)
    assert yaml.safe_load((out / "config.resolved.yaml").read_text())["rewards"][1]["args"] == {}
    assert json.loads((out / "data_report.json").read_text())["skipped"] == 0


@pytest.mark.parametrize(
    "model, thinking, format_args, message",
    [
        # R1 prefills <think> for thinking-off prompts too: those completions can never be tag-free
        ("r1", "mixed", {}, "opens <think> after the generation prompt for thinking-off prompts too"),
        # the user said the template does not prefill, and it does
        ("r1", "on", {"template_prefills_think": False}, "template_prefills_think is False but the chat template"),
        # the user said it prefills, and it does not: every completion would get a second <think>
        ("special", "off", {"template_prefills_think": True}, "does not open <think>"),
        # special think tags vanish on decode: every thinking-on sample would score 0
        ("special", "on", {}, "<think> and </think> are special tokens of its tokenizer"),
    ],
)
def test_templates_and_tokenizers_that_cannot_work_fail_validate(
    tiny_config, tmp_path, students, model, thinking, format_args, message
):
    with pytest.raises(ConfigError, match=message):
        validate(str(_config(tiny_config, tmp_path, students[model], thinking, format_args)))


def test_a_template_that_prefills_only_thinking_on_trains_both_modes(tiny_config, tmp_path, students):
    from rlkd.training.builder import check_inputs

    checked = check_inputs(load_config(_config(tiny_config, tmp_path, students["nemotron"], thinking="mixed")))
    fmt = checked.reward_funcs[1]
    rows = checked.train_dataset
    on = next(r for r in rows if r["thinking"])
    off = next(r for r in rows if not r["thinking"])
    got = fmt(["step\n</think>\n5", "5"], prompts=[on["prompt"], off["prompt"]], thinking=[True, False])
    assert got == [1.0, 1.0]  # on: inside the prefilled block; off: a plain answer


def test_eval_scores_format_with_each_models_own_template(tiny_config, tmp_path, students):
    # rlkd eval compares models side by side; each one's format is scored knowing whether its template prefills
    from transformers import AutoTokenizer

    from rlkd.commands.eval import _with_template_facts, eval_rows

    cfg = load_config(_config(tiny_config, tmp_path, students["r1"]), ["rewards=[{name: accuracy}]"])
    rows = eval_rows(cfg)
    r1 = _with_template_facts(cfg, AutoTokenizer.from_pretrained(students["r1"]), rows)
    plain = _with_template_facts(cfg, build_tokenizer(), rows)  # the tiny student's template opens nothing
    assert [(s.name, s.args) for s in r1.rewards] == [("accuracy", {}), ("format", {"template_prefills_think": True})]
    assert [(s.name, s.args) for s in plain.rewards] == [("accuracy", {}), ("format", {})]
