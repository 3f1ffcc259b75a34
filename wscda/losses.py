"""WS-CDA losses (Cao et al., ICCV 2019).

Domain discrimination loss, with ``y_i`` = 1 for an animal and 0 for a human,
``z_i`` = 1 for the target species, and the discriminator outputs
``y^_i``, ``z^_i`` (probabilities)::

    L_DDL = -w1 * sum_i [y_i log y^_i + (1 - y_i) log(1 - y^_i)]
            -      sum_i y_i [z_i log z^_i + (1 - z_i) log(1 - z^_i)]

(the target term only counts animals).  Pose estimation loss with per-image
heatmap MSE ``L_A`` (animal) and ``L_H`` (human)::

    L_pose = sum_i [w2 * y_i * L_A(I_i) + (1 - y_i) * L_H(I_i)]

Both are computed from logits with ``binary_cross_entropy_with_logits`` for
stability.  ``reduction="sum"`` is the paper's formula literally;
``"mean"`` (the default used in training) divides the ``y`` term by the
batch size, the ``z`` term by the number of animals and ``L_pose`` by the
number of pose-labelled images, so ``alpha`` and ``beta`` do not depend on
the batch composition.
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence, Union

import torch
import torch.nn.functional as F

REDUCTIONS = ("mean", "sum")


def ddl_loss(y_logit: torch.Tensor, z_logit: torch.Tensor, y: torch.Tensor, z: torch.Tensor, w1: float = 1.0,
             reduction: str = "mean") -> Dict[str, torch.Tensor]:
    """``{"total", "y", "z"}``: L_DDL and its two terms (``y`` already times ``w1``).

    ``y_logit``, ``z_logit``: ``(N,)`` discriminator logits; ``y``, ``z``: ``(N,)`` 0/1 labels.
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be mean or sum, got {reduction!r}")
    y, z = y.to(y_logit.dtype), z.to(z_logit.dtype)
    bce_y = F.binary_cross_entropy_with_logits(y_logit, y, reduction="none")
    bce_z = F.binary_cross_entropy_with_logits(z_logit, z, reduction="none") * y
    if reduction == "sum":
        ly, lz = bce_y.sum(), bce_z.sum()
    else:
        ly = bce_y.mean()
        lz = bce_z.sum() / y.sum().clamp(min=1.0)
    ly = w1 * ly
    return {"total": ly + lz, "y": ly, "z": lz}


def per_image_mse(output: Union[torch.Tensor, Sequence[torch.Tensor]], target: torch.Tensor,
                  weight: Optional[torch.Tensor]) -> torch.Tensor:
    """``(N,)`` heatmap MSE per image, the kit's :class:`~animalpose.engine.losses.JointsMSELoss`
    convention (``0.5 * mean_{k,h,w} (w_k (pred - gt))^2``, summed over hourglass stacks): the mean of
    this vector over a batch equals ``JointsMSELoss`` on that batch."""
    outs = output if isinstance(output, (list, tuple)) else [output]
    total = 0.0
    for o in outs:
        if o.shape != target.shape:
            raise ValueError(f"output {tuple(o.shape)} and target {tuple(target.shape)} differ in shape")
        d = o - target
        if weight is not None:
            d = d * weight.to(d.dtype)[:, :, None, None]
        total = total + 0.5 * d.pow(2).flatten(1).mean(1)
    return total


def pose_loss(per_image: torch.Tensor, y: torch.Tensor, w2: float = 1.0, labelled: Optional[torch.Tensor] = None,
              reduction: str = "mean") -> Dict[str, torch.Tensor]:
    """``{"total", "animal", "human"}``: L_pose from per-image losses.

    ``labelled (N,)`` (default all ones) scales each image's term: 0 for images without pose labels
    (the unlabelled target stream), a pseudo-label weight for PPLO images.  ``mean`` divides by
    ``labelled.sum()``.
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be mean or sum, got {reduction!r}")
    y = y.to(per_image.dtype)
    lab = torch.ones_like(per_image) if labelled is None else labelled.to(per_image.dtype)
    la = (w2 * y * lab * per_image).sum()
    lh = ((1 - y) * lab * per_image).sum()
    if reduction == "mean":
        n = lab.sum().clamp(min=1.0)
        la, lh = la / n, lh / n
    return {"total": la + lh, "animal": la, "human": lh}
