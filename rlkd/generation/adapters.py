"""The policy's weights as the sampler must see them: a LoRA-adapted policy's merged tensors under the base model's
names, computed beside the model, and every tensor whole (FSDP2 shards gathered).

vLLM knows nothing of adapters (rlkd starts it without `enable_lora`), so after each optimizer step the CPU sync
hands it W + scaling·B·A for every adapted layer. TRL's GPU path merges into the model and unmerges again
(`merge_adapter()` / `unmerge_adapter()`); in floating point (W + Δ) − Δ is not W, so every sync nudges the frozen
base weights, in bfloat16 by a visible amount. Here the merged tensor is a new tensor and the model is never
written, which is exact and costs one (out × in) temporary per adapted layer at a time.

Names follow TRL's GPU path (`base_model.model.` and `.base_layer` dropped, `modules_to_save.<adapter>.` copies
sent under the original name, PEFT's own tensors left out), and the full `state_dict()` is walked so tied aliases
(lm_head.weight) are sent too (rlkd.generation.cpu_sync explains why).

Only vanilla LoRA on Linear and Embedding layers is merged here; `check_mergeable` refuses anything else (DoRA and
the other variants, conv layers, `target_parameters`) with a one-line error when the trainer is built, not at the
first sync.
"""

from __future__ import annotations

from collections.abc import Iterator

from rlkd.errors import ConfigError

PEFT_PREFIX = "base_model.model."


def full(tensor):
    """The whole tensor: an FSDP2 shard (DTensor) is gathered, a collective every rank must join in the same order."""
    return tensor.full_tensor() if hasattr(tensor, "full_tensor") else tensor


def _lora_layers(model) -> dict[str, object]:
    """{module name in model.state_dict(): LoRA layer} for every injected LoRA layer."""
    from peft.tuners.lora import LoraLayer

    return {name: m for name, m in model.named_modules() if isinstance(m, LoraLayer)}


def check_mergeable(model) -> None:
    """A one-line ConfigError naming the first adapted layer `merged_weights` cannot merge exactly."""
    from accelerate.utils import is_peft_model
    from peft.tuners.lora import Embedding, Linear

    if not is_peft_model(model):
        return
    fix = "use vanilla LoRA (no use_dora or other variant) or generation.backend: transformers"
    if getattr(model.peft_config[model.active_adapter], "target_parameters", None):
        raise ConfigError(f"peft.args.target_parameters: rlkd's CPU vLLM sync cannot merge them; {fix}")
    for name, layer in _lora_layers(model).items():
        if type(layer) not in (Linear, Embedding) or any(a in layer.lora_variant for a in layer.active_adapters):
            variant = " with a LoRA variant (e.g. DoRA)" if layer.lora_variant else ""
            raise ConfigError(
                f"peft: rlkd's CPU vLLM sync merges vanilla LoRA on Linear and Embedding layers, and "
                f"{name.removeprefix(PEFT_PREFIX)} is a {type(layer).__name__}{variant}; {fix}"
            )


def _delta(layer, adapter: str):
    """scaling·B·A for one adapter, as PEFT's `get_delta_weight` computes it (fp32 on CPU for half precision)."""
    import torch
    from peft.tuners.lora import Embedding

    if isinstance(layer, Embedding):
        a, b, transpose = full(layer.lora_embedding_A[adapter]), full(layer.lora_embedding_B[adapter]), True
    else:
        a, b, transpose = full(layer.lora_A[adapter].weight), full(layer.lora_B[adapter].weight), layer.fan_in_fan_out
    dtype = b.dtype
    if a.device.type == "cpu" and dtype in (torch.float16, torch.bfloat16):
        a, b = a.float(), b.float()
    delta = b @ a  # (out, r) @ (r, in) = (out, in); Embedding: (dim, r) @ (r, vocab), transposed to (vocab, dim)
    delta = (delta.T if transpose else delta) * layer.scaling[adapter]
    return delta.to(dtype)


def _merged(layer, key: str, tensor):
    """The base tensor `key` of a LoRA layer with its active, unmerged adapters added."""
    if layer.merged or layer.disable_adapters:
        return tensor  # merged adapters are in the base weight already; disabled ones are not applied
    adapters = [a for a in layer.active_adapters if a in layer.lora_A or a in layer.lora_embedding_A]
    if key == "weight":
        for adapter in adapters:
            tensor = tensor + _delta(layer, adapter)
    elif key == "bias":
        for adapter in adapters:
            if layer.lora_bias.get(adapter):
                tensor = tensor + full(layer.lora_B[adapter].bias) * layer.scaling[adapter]
    return tensor


def vllm_name(name: str, adapter: str) -> str:
    return name.removeprefix(PEFT_PREFIX).replace(".base_layer", "").replace(f".modules_to_save.{adapter}.", ".")


def merged_weights(model) -> Iterator[tuple[str, object]]:
    """(name, tensor) for every tensor vLLM loads: the plain state dict for a full model, the merged one under the
    base names for a PEFT model. Tensors are whole and detached; the model is left untouched."""
    from accelerate.utils import is_peft_model

    if not is_peft_model(model):
        for name, tensor in model.state_dict().items():
            yield name, full(tensor).detach()
        return
    adapter = model.active_adapter
    layers = _lora_layers(model)
    for name, tensor in model.state_dict().items():
        owner, _, key = name.rpartition(".")
        if ".original_module." in name or ".lora_" in name:
            continue  # the frozen copy behind a module to save, and PEFT's own A/B tensors
        tensor = full(tensor).detach()
        layer = layers.get(owner.removesuffix(".base_layer"))
        if layer is not None and owner.endswith(".base_layer"):
            tensor = _merged(layer, key, tensor)
        yield vllm_name(name, adapter), tensor
