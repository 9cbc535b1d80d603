"""Logit distillation for the SFT stage: α·CE(student, labels) + (1−α)·KL(teacher_τ ‖ student_τ)·τ².

Sequence-level distillation (SFT on a teacher's traces) only shows the student the teacher's argmax path; when a
teacher *model* sharing the student's tokenizer is at hand, its full next-token distribution carries more signal per
token. Both distributions are softened by the temperature τ > 1 so the teacher's runner-up tokens weigh in; the τ²
factor keeps the KL gradient on the same scale as the CE gradient as τ changes (Hinton et al. 2015).

`DistillSFTTrainer` is TRL's SFTTrainer with `compute_loss` overridden: one student forward with full logits, one
teacher forward without gradients, and the loss above over the completion tokens (labels ≠ −100) only.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from trl import SFTTrainer

IGNORE_INDEX = -100


def distillation_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    labels: torch.Tensor,
    alpha: float,
    temperature: float,
    num_items: int | torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(loss, ce, kl) averaged over label tokens. Logits (B, T, V); labels (B, T), unshifted, −100 = ignore.

    `num_items` is the label-token count of the whole accumulated batch when the Trainer accumulates gradients (so
    every token weighs the same across micro-batches); None averages over this micro-batch.
    """
    s, t, y = student_logits[:, :-1].float(), teacher_logits[:, :-1].float(), labels[:, 1:]  # position i predicts i+1
    mask = (y != IGNORE_INDEX).float()  # (B, T-1)
    denom = torch.as_tensor(num_items if num_items is not None else mask.sum(), dtype=s.dtype).clamp(min=1)
    ce_tok = F.cross_entropy(s.transpose(1, 2), y.clamp(min=0), reduction="none")  # (B, T-1)
    log_p_student = F.log_softmax(s / temperature, dim=-1)
    log_p_teacher = F.log_softmax(t / temperature, dim=-1)
    kl_tok = (log_p_teacher.exp() * (log_p_teacher - log_p_student)).sum(-1)  # (B, T-1)
    ce = (ce_tok * mask).sum() / denom
    kl = (kl_tok * mask).sum() / denom
    loss = alpha * ce + (1 - alpha) * kl * temperature**2
    return loss, ce, kl


class DistillSFTTrainer(SFTTrainer):
    """SFTTrainer whose loss mixes the labels' CE with the KL to a frozen teacher's softened distribution."""

    def __init__(self, *args, teacher_model, alpha: float, temperature: float, **kwargs):
        super().__init__(*args, **kwargs)
        self.alpha, self.temperature = alpha, temperature
        self.teacher_model = teacher_model.to(self.accelerator.device).eval()
        self.teacher_model.requires_grad_(False)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        forward = {k: v for k, v in inputs.items() if k != "labels"}
        forward["use_cache"] = False
        outputs = model(**forward)
        with torch.no_grad():
            teacher_logits = self.teacher_model(**forward).logits
        loss, ce, kl = distillation_loss(
            outputs.logits, teacher_logits, inputs["labels"], self.alpha, self.temperature, num_items_in_batch
        )
        # Like Trainer.compute_loss: num_items_in_batch counts every rank's tokens and DDP averages the gradients.
        if self.args.average_tokens_across_devices and num_items_in_batch is not None:
            loss = loss * self.accelerator.num_processes
        split = "train" if model.training else "eval"
        self._metrics[split]["distill/ce"].append(ce.item())
        self._metrics[split]["distill/kl"].append(kl.item())
        return (loss, outputs) if return_outputs else loss
