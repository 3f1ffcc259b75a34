"""Spatial equivariance of CC-SSL pseudo-labels.

View 0 is the input crop itself; the other views re-crop the crop around its
centre (side ``f * w``, rotation ``r``, zero padding) and resize it back to
``w``.  Heatmaps predicted on a view are warped back into the identity frame
and averaged.  Matrices are ``2x3`` affine maps, source px -> destination px,
with pixel ``i`` at coordinate ``i`` (the ``cv2.warpAffine`` convention);
sizes are ``(w, h)``.
"""
from __future__ import annotations

from typing import Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F

from animalpose.transforms.affine import PIXEL_STD, get_affine_transform, invert_affine

ArrayLike = Union[np.ndarray, torch.Tensor]


def sample_transforms(rng: np.random.Generator, n: int, scale_factor: float = 0.25,
                      rot_factor: float = 30.0) -> Tuple[np.ndarray, np.ndarray]:
    """``n`` views: ``scales (n,)``, ``rotations (n,)`` in degrees; view 0 is ``(1, 0)``.

    Others: ``f = clamp(N(1, sf), 1 - sf, 1 + sf)``, ``r = clamp(N(0, rf), -2 rf, 2 rf)``
    (always applied), drawn as one ``(s, r)`` normal pair per view."""
    if n < 1:
        raise ValueError(f"need at least one view (the identity), got n={n}")
    z = rng.standard_normal((n - 1, 2))
    scales = np.ones(n, np.float64)
    rots = np.zeros(n, np.float64)
    scales[1:] = np.clip(1.0 + scale_factor * z[:, 0], 1.0 - scale_factor, 1.0 + scale_factor)
    rots[1:] = np.clip(rot_factor * z[:, 1], -2.0 * rot_factor, 2.0 * rot_factor)
    return scales, rots


def recrop_matrix(size: Sequence[int], scale_factor: float, rotation: float) -> np.ndarray:
    """``(2, 3)`` float64: input-crop px -> view px for the re-crop of side ``scale_factor * w``
    about the crop centre, rotated by ``rotation`` degrees, resized to ``size = (w, h)``."""
    w, h = float(size[0]), float(size[1])
    scale = np.array([scale_factor * w, scale_factor * h]) / PIXEL_STD
    m = get_affine_transform(np.array([w / 2.0, h / 2.0]), scale, float(rotation), (int(size[0]), int(size[1])))
    return np.asarray(m, np.float64)


def recrop_matrices(size: Sequence[int], scales: Sequence[float], rotations: Sequence[float]) -> np.ndarray:
    """``(n, 2, 3)`` :func:`recrop_matrix` for each ``(scale, rotation)`` view."""
    return np.stack([recrop_matrix(size, s, r) for s, r in zip(scales, rotations)]).reshape(-1, 2, 3)


def to_heatmap_matrix(matrix: ArrayLike, input_size: Sequence[int], heatmap_size: Sequence[int]):
    """The same map ``(..., 2, 3)`` in heatmap px, where ``x_hm = x_in * heatmap / input`` per axis:
    ``D M D^-1`` with ``D = diag(kx, ky)``."""
    k = np.array([heatmap_size[0] / input_size[0], heatmap_size[1] / input_size[1]], np.float64)
    if isinstance(matrix, torch.Tensor):
        kt = torch.as_tensor(k, dtype=matrix.dtype, device=matrix.device)
        lin = matrix[..., :2] * kt[:, None] / kt[None, :]
        return torch.cat([lin, matrix[..., 2:] * kt[:, None]], -1)
    m = np.asarray(matrix, np.float64)
    lin = m[..., :2] * k[:, None] / k[None, :]
    return np.concatenate([lin, m[..., 2:] * k[:, None]], -1)


def warp(maps: torch.Tensor, matrices: ArrayLike, out_size: Sequence[int]) -> torch.Tensor:
    """Bilinear warp of ``maps (N, C, H, W)`` by ``matrices (N, 2, 3)`` (or one ``(2, 3)``),
    source px -> destination px, onto ``out_size = (w, h)``; zeros outside.

    Matches ``cv2.warpAffine(img, M, out_size, INTER_LINEAR, BORDER_CONSTANT, 0)``
    (up to OpenCV's 1/32 px coordinate quantisation)."""
    if maps.dim() != 4:
        raise ValueError(f"maps must be (N, C, H, W), got {tuple(maps.shape)}")
    n, _, h_in, w_in = maps.shape
    w_out, h_out = int(out_size[0]), int(out_size[1])
    if isinstance(matrices, torch.Tensor):
        m = matrices.detach().to("cpu", torch.float64)
    else:
        m = torch.as_tensor(np.asarray(matrices, np.float64))
    m = m.reshape(-1, 2, 3).expand(n, 2, 3) if m.numel() == 6 else m.reshape(n, 2, 3)
    inv = invert_affine(m)  # dst px -> src px
    # fold the align_corners=True normalisation of the source into the matrix
    norm = torch.tensor([2.0 / max(w_in - 1, 1), 2.0 / max(h_in - 1, 1)], dtype=torch.float64)
    theta = inv * norm[:, None]
    theta[..., 2] -= 1.0
    theta = theta.to(device=maps.device, dtype=maps.dtype if maps.is_floating_point() else torch.float32)
    ys, xs = torch.meshgrid(torch.arange(h_out, device=maps.device, dtype=theta.dtype),
                            torch.arange(w_out, device=maps.device, dtype=theta.dtype), indexing="ij")
    base = torch.stack([xs, ys, torch.ones_like(xs)], -1).reshape(1, h_out * w_out, 3)
    grid = (base @ theta.transpose(1, 2)).reshape(n, h_out, w_out, 2)
    src = maps if maps.is_floating_point() else maps.to(theta.dtype)
    return F.grid_sample(src, grid, mode="bilinear", padding_mode="zeros", align_corners=True)


def warp_back(heatmaps: torch.Tensor, input_matrices: ArrayLike, input_size: Sequence[int],
              heatmap_size: Sequence[int]) -> torch.Tensor:
    """Heatmaps ``(N, C, h, w)`` predicted on views -> the identity frame ``(N, C, h, w)``.

    ``input_matrices (N, 2, 3)``: the views' :func:`recrop_matrix` in input px."""
    hm = to_heatmap_matrix(input_matrices, input_size, heatmap_size)
    return warp(heatmaps, invert_affine(hm), heatmap_size)
