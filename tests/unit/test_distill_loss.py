"""The logit-distillation loss α·CE + (1−α)·KL(teacher_τ ‖ student_τ)·τ² on a two-token vocabulary, by hand."""

import math

import pytest
import torch
import torch.nn.functional as F

from rlkd.training.distill import distillation_loss

LN3 = math.log(3.0)
# One sequence of two positions; position 0's logits predict the label at position 1 (token 0). Position 1 has
# no next label. Student logits [0, 0] → p_s = [1/2, 1/2]; teacher logits [ln 3, 0] → p_t = [3/4, 1/4] at τ = 1.
STUDENT = torch.tensor([[[0.0, 0.0], [5.0, -5.0]]])
TEACHER = torch.tensor([[[LN3, 0.0], [-5.0, 5.0]]])
LABELS = torch.tensor([[-100, 0]])

CE = math.log(2)  # −ln p_s(0) = ln 2 ≈ 0.693147
KL_T1 = 0.75 * math.log(0.75 / 0.5) + 0.25 * math.log(0.25 / 0.5)  # ≈ 0.130812
# τ = 2: teacher logits halve → p_t = [√3, 1] / (1 + √3) ≈ [0.633975, 0.366025]; the student stays uniform
PT2 = math.sqrt(3) / (1 + math.sqrt(3))
KL_T2 = PT2 * math.log(PT2 / 0.5) + (1 - PT2) * math.log((1 - PT2) / 0.5)  # ≈ 0.036347


@pytest.mark.parametrize(
    "alpha, tau, expected",
    [
        (1.0, 1.0, CE),  # α = 1: plain SFT cross-entropy
        (0.0, 1.0, KL_T1),  # α = 0: pure distillation ≈ 0.130812
        (0.5, 1.0, 0.5 * CE + 0.5 * KL_T1),  # ≈ 0.411980
        (0.5, 2.0, 0.5 * CE + 0.5 * 4 * KL_T2),  # the τ² factor: 0.346574 + 0.072694 ≈ 0.419268
    ],
)
def test_hand_checked_values(alpha, tau, expected):
    loss, ce, kl = distillation_loss(STUDENT, TEACHER, LABELS, alpha, tau)
    assert ce.item() == pytest.approx(CE, abs=1e-6)
    assert loss.item() == pytest.approx(expected, abs=1e-6)


def test_ignored_positions_do_not_count():
    # The second position's logits disagree wildly, but it has no label: changing them must not move the loss.
    other = STUDENT.clone()
    other[0, 1] = torch.tensor([-9.0, 9.0])
    a = distillation_loss(STUDENT, TEACHER, LABELS, 0.5, 2.0)[0]
    b = distillation_loss(other, TEACHER, LABELS, 0.5, 2.0)[0]
    assert a.item() == pytest.approx(b.item())


def test_matches_torch_on_random_batches():
    # CE equals F.cross_entropy over the shifted, unmasked tokens; KL equals F.kl_div with log-target semantics
    g = torch.Generator().manual_seed(0)
    s, t = torch.randn(3, 6, 11, generator=g), torch.randn(3, 6, 11, generator=g)
    labels = torch.randint(0, 11, (3, 6), generator=g)
    labels[:, :2] = -100  # a prompt
    loss, ce, kl = distillation_loss(s, t, labels, 0.3, 1.5)
    ref_ce = F.cross_entropy(s[:, :-1].reshape(-1, 11), labels[:, 1:].reshape(-1), ignore_index=-100)
    mask = labels[:, 1:] != -100
    ref_kl = (
        F.kl_div(
            F.log_softmax(s[:, :-1] / 1.5, -1), F.log_softmax(t[:, :-1] / 1.5, -1), reduction="none", log_target=True
        )
        .sum(-1)[mask]
        .mean()
    )
    assert ce.item() == pytest.approx(ref_ce.item(), rel=1e-5)
    assert kl.item() == pytest.approx(ref_kl.item(), rel=1e-5)
    assert loss.item() == pytest.approx(0.3 * ref_ce.item() + 0.7 * 1.5**2 * ref_kl.item(), rel=1e-5)


def test_num_items_normalises_over_the_accumulated_batch():
    # With gradient accumulation the Trainer passes the token count of all micro-batches: here 4 tokens in all,
    # this micro-batch holding 1, so its loss is a quarter of the per-micro-batch mean.
    full = distillation_loss(STUDENT, TEACHER, LABELS, 0.5, 1.0)[0]
    part = distillation_loss(STUDENT, TEACHER, LABELS, 0.5, 1.0, num_items=4)[0]
    assert part.item() == pytest.approx(full.item() / 4)
