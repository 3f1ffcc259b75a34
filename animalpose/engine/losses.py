"""Training losses.

* :class:`JointsMSELoss` - SimpleBaseline / HRNet / bearpaw ``JointsMSELoss``:
  ``(1/K) sum_k 0.5 * mean_{n,h,w} (w_nk * (pred - gt))^2``, summed over the
  stacks of a stacked hourglass (the reference adds one loss per stack).
* :class:`CombinedTargetMSELoss` - UDP's loss of the combined (class + offset) target;
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


class CombinedTargetMSELoss(nn.Module):
    """UDP's loss of the combined target (``udp_combined`` codec).

    ``forward(output (N, 3K, H, W), target (N, 3K, H, W), target_weight (N, K))``: channels per
    joint are ``[class, x-offset, y-offset]``; with ``c = target_class * w``, the loss is the mean
    over joints of ``0.5 mse(pred_class * w, c) + 0.5 mse(c * pred_x, c * target_x) + 0.5 mse(c *
    pred_y, c * target_y)`` (each ``mse`` a mean over ``N, H, W``).  A list of outputs is summed.
    """

    def __init__(self, use_target_weight: bool = True):
        super().__init__()
        self.use_target_weight = use_target_weight

    def single(self, pred: torch.Tensor, target: torch.Tensor, weight: Optional[torch.Tensor]) -> torch.Tensor:
        if pred.shape != target.shape or pred.shape[1] % 3:
            raise ValueError(f"output {tuple(pred.shape)} and target {tuple(target.shape)} must be equal (N, 3K, H, W)")
        n, c3, h, w = pred.shape
        p = pred.reshape(n, c3 // 3, 3, h, w)
        t = target.reshape(n, c3 // 3, 3, h, w).to(pred.dtype)
        wt = weight.to(pred.dtype)[:, :, None, None] if self.use_target_weight else 1.0
        cls = t[:, :, 0] * wt
        per_joint = 0.5 * ((p[:, :, 0] * wt - cls) ** 2).mean(dim=(0, 2, 3))
        per_joint = per_joint + 0.5 * ((cls * (p[:, :, 1] - t[:, :, 1])) ** 2).mean(dim=(0, 2, 3))
        per_joint = per_joint + 0.5 * ((cls * (p[:, :, 2] - t[:, :, 2])) ** 2).mean(dim=(0, 2, 3))
        return per_joint.mean()

    def forward(self, output, target: torch.Tensor, target_weight: Optional[torch.Tensor] = None) -> torch.Tensor:
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
