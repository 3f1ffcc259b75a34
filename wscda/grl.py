"""Gradient reversal (Ganin & Lempitsky 2015) for the WS-CDA adversarial game.

``grad_reverse(x, coeff)`` is the identity in the forward pass and multiplies
the incoming gradient by ``-coeff`` in the backward pass.  Placed between the
feature extractor and the domain discriminator, one backward pass of
``|alpha| * L_DDL`` gives the discriminator ``+|alpha| dL_DDL/dtheta_D`` (it
minimises its loss) and the feature extractor ``-|alpha| dL_DDL/dtheta_F``
(it minimises ``alpha * L_DDL`` with ``alpha < 0``, i.e. it confuses the
discriminator), which is the paper's ``alpha * L_DDL + beta * L_pose``
objective with ``alpha * beta < 0``.
"""
from __future__ import annotations

import math

import torch


class GradientReversal(torch.autograd.Function):
    """Identity forward; gradient times ``-coeff`` backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, coeff: float) -> torch.Tensor:
        ctx.coeff = float(coeff)
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return -ctx.coeff * grad, None


def grad_reverse(x: torch.Tensor, coeff: float = 1.0) -> torch.Tensor:
    """``x`` unchanged; the gradient flowing back through it is multiplied by ``-coeff``."""
    if coeff < 0:
        raise ValueError(f"gradient reversal coefficient must be >= 0, got {coeff}")
    return GradientReversal.apply(x, coeff)


class GradReverse(torch.nn.Module):
    """Module form of :func:`grad_reverse` (``coeff`` may be changed between steps)."""

    def __init__(self, coeff: float = 1.0):
        super().__init__()
        self.coeff = float(coeff)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return grad_reverse(x, self.coeff)


def grl_coefficient(schedule: str, progress: float) -> float:
    """Reversal strength at training ``progress`` in [0, 1].

    ``constant``: 1 (the paper's fixed ``alpha``); ``dann``: ``2 / (1 + exp(-10 p)) - 1``
    (ramps from 0 to ~1, the DANN schedule, for a gentler start).
    """
    if schedule == "constant":
        return 1.0
    if schedule == "dann":
        p = min(max(float(progress), 0.0), 1.0)
        return 2.0 / (1.0 + math.exp(-10.0 * p)) - 1.0
    raise ValueError(f"grl schedule must be constant or dann, got {schedule!r}")
