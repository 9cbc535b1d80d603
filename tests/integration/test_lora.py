"""LoRA end to end on the tiny students: GRPO with vLLM sampling from the adapted policy (tied Qwen2 and untied
Llama), adapter-only checkpoints that resume exactly, `rlkd export --merge`, and SFT with the same `peft:` section.

Before: the vLLM backend failed at the first sync ("rlkd's CPU vLLM weight sync does not merge PEFT adapters"), and
the config refused every PEFT key."""

import json
import shutil

import pytest
import torch
import yaml
from safetensors.torch import load_file

from rlkd.cli import main
from rlkd.config import ConfigError, ModelConfig, load_config
from rlkd.generation.parity import DEFAULT_TOLERANCE, logprob_gap, trainer_logprob_gap, trainer_prompt_ids
from rlkd.io import read_jsonl
from rlkd.model import load_policy

LENGTH_REWARD = "rewards=[{name: 'tests.integration.test_vllm_parity:length_reward'}]"  # always non-zero advantages
LORA = ["peft.r=4", "peft.lora_alpha=8"]


def _trainer(config_path, *overrides):
    from rlkd.training.builder import build_trainer, prepare_run

    cfg = load_config(config_path, ["wandb.mode=disabled", *LORA, *overrides])
    return build_trainer(prepare_run(cfg))


@pytest.mark.parametrize(
    "arch, extra",
    [
        ("qwen2", []),  # tied embeddings; every linear layer adapted (the default all-linear)
        ("llama", ["peft.modules_to_save=[lm_head]"]),  # untied, with the output head trained in full beside it
    ],
)
def test_lora_grpo_with_vllm_samples_from_the_adapted_policy(tiny_config, tiny_llama_dir, arch, extra):
    model = [f"model.name_or_path={tiny_llama_dir}"] if arch == "llama" else []
    trainer = _trainer(
        tiny_config,
        "generation.backend=vllm",
        "grpo.max_steps=3",
        "grpo.save_steps=1000",
        "grpo.learning_rate=1e-2",  # three steps must move the adapter measurably
        LENGTH_REWARD,
        *model,
        *extra,
    )
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    trainer.train()
    after = trainer.model.state_dict()
    trained = [k for k in before if ".lora_" in k or ".modules_to_save." in k]
    assert max((after[k] - before[k]).abs().max().item() for k in trained) > 1e-3  # the adapter really moved
    frozen = [k for k in before if k not in trained]
    assert all(torch.equal(after[k], before[k]) for k in frozen)  # the base is bit-identical: no merge/unmerge drift
    logged = [r["sampling/sampling_logp_difference/max"] for r in trainer.state.log_history if "loss" in r]
    assert len(logged) == 3 and max(logged) <= DEFAULT_TOLERANCE  # TRL's own check on every training batch
    gap = trainer_logprob_gap(trainer)  # after the last optimizer step
    assert gap.tokens > 50 and gap.ok(), gap

    # The check can see an adapter that never reached vLLM: the base weights alone disagree with the policy.
    with trainer.model.disable_adapter():
        trainer.vllm_generation.sync_weights()
    stale = logprob_gap(trainer.vllm_generation.llm, trainer.model.eval(), trainer_prompt_ids(trainer))
    assert stale.max_abs > 100 * DEFAULT_TOLERANCE, stale


def _lora_config(tiny_config, tmp_path, name):
    raw = yaml.safe_load(tiny_config.read_text())
    raw["rewards"] = [{"name": "tests.integration.test_vllm_parity:length_reward"}]
    raw["peft"] = {"r": 4, "lora_alpha": 8}
    raw["wandb"] = {"mode": "disabled"}
    raw["grpo"].update(output_dir=str(tmp_path / name), max_steps=4, save_steps=2, logging_steps=1, learning_rate=1e-2)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _rewards(run):
    return {
        r["step"]: (r["reward"], r["loss"], r["grad_norm"]) for r in read_jsonl(run / "metrics.jsonl") if "loss" in r
    }


def test_lora_checkpoints_hold_the_adapter_resume_exactly_and_export(tiny_config, tiny_model_dir, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    straight = tmp_path / "straight"
    assert main(["train", str(_lora_config(tiny_config, tmp_path, "straight"))]) == 0
    ckpt = straight / "checkpoint-2"
    assert (ckpt / "adapter_model.safetensors").is_file() and (ckpt / "adapter_config.json").is_file()
    assert not list(ckpt.glob("model*.safetensors"))  # adapter-only: the frozen base is never copied
    model_bytes = (tiny_model_dir / "model.safetensors").stat().st_size
    assert (ckpt / "adapter_model.safetensors").stat().st_size < 0.2 * model_bytes

    # A run stopped after checkpoint-2 (the kill -9 path itself is tests/integration/test_resume.py's) resumes to the
    # uninterrupted run's steps 3-4 and its final adapter.
    resumed = tmp_path / "resumed"
    resumed.mkdir()
    shutil.copytree(ckpt, resumed / "checkpoint-2")
    assert main(["train", str(_lora_config(tiny_config, tmp_path, "resumed")), "--resume"]) == 0
    expected, got = _rewards(straight), _rewards(resumed)
    assert sorted(got) == [3, 4] and all(got[s] == expected[s] for s in (3, 4)), (got, expected)
    final, again = load_file(straight / "adapter_model.safetensors"), load_file(resumed / "adapter_model.safetensors")
    assert final.keys() == again.keys() and all(torch.equal(final[k], again[k]) for k in final)

    # An adapter dir is not a model: every stage that loads one (eval, the next stage's model:) says what to do.
    with pytest.raises(ConfigError, match="holds a LoRA adapter, not a model: merge it with `rlkd export"):
        load_policy(ModelConfig(name_or_path=str(straight)))
    # --merge: a plain model whose outputs are the adapted policy's.
    assert main(["export", str(straight), "--merge"]) == 0
    merged = AutoModelForCausalLM.from_pretrained(straight / "merged").eval()
    assert not (straight / "merged" / "adapter_config.json").exists()
    adapted = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model_dir), str(straight)).eval()
    ids = torch.tensor([list(range(5, 40))])
    with torch.no_grad():
        assert (merged(ids).logits - adapted(ids).logits).abs().max().item() < 1e-4
        with adapted.disable_adapter():
            base = adapted(ids).logits
        assert (merged(ids).logits - base).abs().max().item() > 1e-3  # and not the base model's
    # Without --merge: the adapter and tokenizer alone, from any checkpoint.
    assert main(["export", str(ckpt)]) == 0
    assert sorted(p.name for p in (ckpt / "adapter").iterdir()) == [
        "adapter_config.json",
        "adapter_model.safetensors",
        "chat_template.jinja",
        "tokenizer.json",
        "tokenizer_config.json",
    ]


def test_export_refuses_a_full_model_with_one_line(tiny_model_dir, capsys):
    assert main(["export", str(tiny_model_dir), "--merge"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rlkd: error: rlkd export:") and "holds no LoRA adapter" in err and "\n" not in err


def test_sft_trains_the_same_peft_section(tiny_config, tmp_path):
    from transformers import AutoModelForCausalLM

    out = tmp_path / "sft"
    raw = yaml.safe_load(tiny_config.read_text())
    raw["peft"] = {"r": 4}
    raw["wandb"] = {"mode": "disabled"}
    raw["sft"] = {
        "num_problems": 64,
        "args": {"max_steps": 3, "per_device_train_batch_size": 8, "output_dir": str(out)},
    }
    path = tmp_path / "sft.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert main(["sft", str(path)]) == 0
    assert (out / "adapter_model.safetensors").is_file() and not (out / "model.safetensors").exists()
    assert json.loads((out / "adapter_config.json").read_text())["r"] == 4  # the section, as GRPO reads it
    lora_b = [t for k, t in load_file(out / "adapter_model.safetensors").items() if "lora_B" in k]
    assert lora_b and any(t.abs().max() > 0 for t in lora_b)  # B starts at zero: non-zero means SFT trained it
    assert main(["export", str(out), "--merge"]) == 0  # the next stage (GRPO) starts from a plain model
    AutoModelForCausalLM.from_pretrained(out / "merged")


def test_a_misspelt_target_stops_rlkd_train_before_anything_starts(tiny_config, tmp_path, capsys):
    # PEFT would adapt q_proj alone and say nothing; rlkd fails in seconds, before W&B or any output exists.
    assert main(["train", str(tiny_config), "peft.target_modules=[q_proj, v_prj]"]) == 2
    err = capsys.readouterr().err
    assert "rlkd: error: peft.target_modules: 'v_prj' matches no module of the model (did you mean 'v_proj'?)" in err
    assert not (tmp_path / "run").exists()


def test_validate_checks_the_peft_section_without_loading_weights(tiny_config):
    from rlkd.commands.validate import validate

    assert "peft ok: LoRA r=4 on all-linear" in validate(str(tiny_config), ["peft.r=4"])
    with pytest.raises(ConfigError, match="'k_prj' matches no module of the model"):  # on the meta-device model
        validate(str(tiny_config), ["peft.target_modules=[q_proj, k_prj]"])
