"""Training losses.

* :class:`JointsMSELoss` - SimpleBaseline / HRNet / bearpaw ``JointsMSELoss``:
  ``(1/K) sum_k 0.5 * mean_{n,h,w} (w_nk * (pred - gt))^2``, summed over the
  stacks of a stacked hourglass (the reference adds one loss per stack).
* :class:`DEKRLoss` - DEKR: masked heatmap MSE (mask 1 inside the Gaussian
  windows, ``bg_weight`` elsewhere) plus smooth-L1 (beta 1/9) on the offsets
  weighted per pixel and normalised by the number of positive pixels.
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence, Union

import torch
import torch.nn as nn


class JointsMSELoss(nn.Module):
    """Weighted joints MSE.

    ``forward(output, target (N, K, H, W), target_weight (N, K))`` where
    ``output`` is ``(N, K, H, W)`` or a list of them (one per stack, summed).
    ``joint_weights (K,)`` multiplies the target weights (HRNet's optional
    per-joint weighting).
    """

    def __init__(self, use_target_weight: bool = True, joint_weights: Optional[Sequence[float]] = None):
        super().__init__()
        self.use_target_weight = use_target_weight
        jw = None if joint_weights is None else torch.as_tensor(joint_weights, dtype=torch.float32)
        self.register_buffer("joint_weights", jw, persistent=False)

    def single(self, pred: torch.Tensor, target: torch.Tensor, weight: Optional[torch.Tensor]) -> torch.Tensor:
        if pred.shape != target.shape:
            raise ValueError(f"output {tuple(pred.shape)} and target {tuple(target.shape)} differ in shape")
        diff = pred - target
        if self.use_target_weight:
            w = weight.to(pred.dtype)
            if self.joint_weights is not None:
                w = w * self.joint_weights.to(w)
            diff = diff * w[:, :, None, None]
        return 0.5 * diff.pow(2).mean()

    def forward(self, output: Union[torch.Tensor, Sequence[torch.Tensor]], target: torch.Tensor,
                target_weight: Optional[torch.Tensor] = None) -> torch.Tensor:
        outs = output if isinstance(output, (list, tuple)) else [output]
        return sum(self.single(o, target, target_weight) for o in outs)


def smooth_l1(pred: torch.Tensor, target: torch.Tensor, beta: float = 1.0 / 9) -> torch.Tensor:
    """Element-wise smooth-L1: ``0.5 d^2 / beta`` below ``beta``, ``d - beta / 2`` above."""
    d = (pred - target).abs()
    return torch.where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta)


class DEKRLoss(nn.Module):
    """DEKR heatmap + offset loss.

    ``forward(heatmaps (N, K+1, H, W), offsets (N, 2K, H, W), targets)`` with
    ``targets = {"heatmaps", "mask" (same shape as heatmaps), "offsets",
    "offset_weights" (N, 2K, H, W)}``; returns ``{"heatmap", "offset", "total"}``.
    """

    def __init__(self, heatmap_weight: float = 1.0, offset_weight: float = 0.03, beta: float = 1.0 / 9):
        super().__init__()
        self.heatmap_weight, self.offset_weight, self.beta = heatmap_weight, offset_weight, beta

    def forward(self, heatmaps: torch.Tensor, offsets: torch.Tensor, targets: Dict[str, torch.Tensor]):
        hm = ((heatmaps - targets["heatmaps"]) ** 2 * targets["mask"]).mean()
        w = targets["offset_weights"]
        num_pos = max(int((w > 0).sum().item()), 1)
        off = (smooth_l1(offsets, targets["offsets"], self.beta) * w).sum() / num_pos
        hm, off = hm * self.heatmap_weight, off * self.offset_weight
        return {"heatmap": hm, "offset": off, "total": hm + off}
