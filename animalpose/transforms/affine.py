"""Affine conventions of the reference top-down pipelines.

Scales are in units of ``pixel_std = 200`` pixels (``scale * 200`` = crop side
in the source image), rotations in degrees (counter-clockwise in the image as
the reference code draws it), sizes as ``(w, h)``.

* :func:`get_affine_transform` - the three-point mapping of SimpleBaseline /
  HRNet (``unbiased=True``: the DARK variant with ``(w - 1) / 2`` centres);
* :func:`get_udp_warp_matrix` - UDP's ``(size - 1)`` mapping;
* :func:`transform_preds` - heatmap coordinates back to the image.
"""
from __future__ import annotations

from typing import Sequence, Tuple

import cv2
import numpy as np

PIXEL_STD = 200.0


def _pair(v) -> np.ndarray:
    a = np.asarray(v, dtype=np.float64).reshape(-1)
    return np.repeat(a, 2) if a.size == 1 else a[:2]


def _scale_px(scale, dtype) -> np.ndarray:
    """``scale * 200`` per axis, rounded in ``dtype`` (float32: the reference loaders' arithmetic)."""
    if np.dtype(dtype) == np.float32:
        return (np.asarray(_pair(scale), np.float32) * np.float32(PIXEL_STD)).astype(np.float64)
    return _pair(scale) * PIXEL_STD


def _rotate(pt: np.ndarray, rad: float) -> np.ndarray:
    s, c = np.sin(rad), np.cos(rad)
    return np.array([pt[0] * c - pt[1] * s, pt[0] * s + pt[1] * c])


def _third(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = a - b
    return b + np.array([-d[1], d[0]])


def get_affine_transform(center, scale, rot: float, output_size: Sequence[int], shift=(0.0, 0.0),
                         inv: bool = False, unbiased: bool = False, scale_dtype=np.float64) -> np.ndarray:
    """``2x3`` matrix mapping the crop ``(center, scale, rot)`` onto ``output_size = (w, h)``.

    The crop centre goes to the output centre and the point half a crop width
    above the centre (rotated by ``rot``) to half an output width above the
    output centre; the aspect ratio is fixed by the width.  ``inv=True`` gives
    the output -> source mapping.  ``unbiased`` uses ``(w - 1)`` in place of
    ``w`` for the output centre and both direction vectors (DARK).  ``scale_dtype=np.float32``
    computes ``scale * 200`` in float32 as HRNet and DarkPose do (their loaders' scales are float32;
    float64 moves crop points by up to ~4e-4 px).
    """
    center = np.asarray(center, np.float64)
    scale_px = _scale_px(scale, scale_dtype)
    src_w = scale_px[0]
    dst_w, dst_h = float(output_size[0]), float(output_size[1])
    rad = np.deg2rad(rot)
    if unbiased:
        src_dir = _rotate(np.array([0.0, (src_w - 1) * -0.5]), rad)
        dst_dir = np.array([0.0, (dst_w - 1) * -0.5])
        dst_c = np.array([(dst_w - 1) * 0.5, (dst_h - 1) * 0.5])
    else:
        src_dir = _rotate(np.array([0.0, src_w * -0.5]), rad)
        dst_dir = np.array([0.0, dst_w * -0.5])
        dst_c = np.array([dst_w * 0.5, dst_h * 0.5])
    sh = scale_px * np.asarray(shift, np.float64)
    src = np.zeros((3, 2), np.float32)
    dst = np.zeros((3, 2), np.float32)
    src[0], src[1] = center + sh, center + src_dir + sh
    dst[0], dst[1] = dst_c, dst_c + dst_dir
    src[2], dst[2] = _third(src[0], src[1]), _third(dst[0], dst[1])
    return cv2.getAffineTransform(dst, src) if inv else cv2.getAffineTransform(src, dst)


def get_udp_warp_matrix(center, scale, rot: float, output_size: Sequence[int],
                        direction: str = "official", scale_dtype=np.float64) -> np.ndarray:
    """UDP ``2x3`` matrix: the crop of side ``scale * 200`` maps with factor
    ``(out - 1) / (scale * 200)`` per axis and its centre to ``(out - 1) / 2``.

    ``direction="official"`` rotates as UDP's ``get_warpmatrix`` (and mmpose's
    ``get_udp_warp_matrix``): linear part ``[[cos kx, -sin kx], [sin ky, cos ky]]``, i.e. at angle ``r`` it equals
    :func:`get_affine_transform` at ``-r`` (up to the per-axis factors); ``"kit"`` rotates as
    :func:`get_affine_transform` does (the kit's earlier UDP warp)."""
    if direction not in ("official", "kit"):
        raise ValueError(f"direction must be official or kit, got {direction!r}")
    sw, sh = _scale_px(scale, scale_dtype)
    kx, ky = (output_size[0] - 1.0) / sw, (output_size[1] - 1.0) / sh
    t = np.deg2rad(rot if direction == "kit" else -rot)
    c, s = np.cos(t), np.sin(t)
    lin = np.array([[c * kx, s * kx], [-s * ky, c * ky]])
    shift = np.array([(output_size[0] - 1.0) * 0.5, (output_size[1] - 1.0) * 0.5]) - lin @ np.asarray(center, np.float64)
    return np.concatenate([lin, shift[:, None]], 1)


def affine_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a ``2x3`` matrix to ``(..., 2)`` points, or ``(N, 2, 3)`` matrices to
    ``(N, K, 2)`` points (one matrix per row), vectorised."""
    pts = np.asarray(points, np.float64)
    m = np.asarray(matrix, np.float64)
    if m.ndim == 3:
        return pts @ np.swapaxes(m[:, :, :2], 1, 2) + m[:, None, :, 2]
    return pts @ m[:, :2].T + m[:, 2]


def invert_affine(matrices):
    """Inverse of ``(..., 2, 3)`` affine matrices (NumPy float64, or torch with its dtype kept)."""
    if hasattr(matrices, "detach"):  # torch.Tensor
        import torch
        a, t = matrices[..., :2], matrices[..., 2:]
        ai = torch.linalg.inv(a)
        return torch.cat([ai, -ai @ t], -1)
    m = np.asarray(matrices, np.float64)
    ai = np.linalg.inv(m[..., :2])
    return np.concatenate([ai, -ai @ m[..., 2:]], -1)


def warp_image(image: np.ndarray, matrix: np.ndarray, output_size: Sequence[int],
               flags: int = cv2.INTER_LINEAR) -> np.ndarray:
    """Crop ``image`` with a ``2x3`` source -> output matrix (zero border)."""
    return cv2.warpAffine(image, matrix, (int(output_size[0]), int(output_size[1])), flags=flags)


def transform_preds(coords: np.ndarray, center, scale, heatmap_size: Sequence[int], udp: bool = False) -> np.ndarray:
    """Heatmap coordinates ``(..., 2)`` -> source image pixels for a crop without rotation.

    Standard: the inverse of :func:`get_affine_transform` onto the heatmap
    size.  UDP: ``x * (scale * 200) / (w - 1) + cx - scale * 200 / 2``.
    """
    coords = np.asarray(coords, np.float64)
    if udp:
        sw, sh = _pair(scale) * PIXEL_STD
        c = np.asarray(center, np.float64)
        out = np.empty_like(coords)
        out[..., 0] = coords[..., 0] * sw / (heatmap_size[0] - 1.0) + c[0] - 0.5 * sw
        out[..., 1] = coords[..., 1] * sh / (heatmap_size[1] - 1.0) + c[1] - 0.5 * sh
        return out
    return affine_points(coords, get_affine_transform(center, scale, 0, heatmap_size, inv=True))


def box_center_scale(bbox, aspect_ratio: float, padding: float = 1.25, convention: str = "hrnet",
                     detection: bool = False) -> Tuple[np.ndarray, np.ndarray]:
    """HRNet ``_xywh2cs`` on an ``x1, y1, x2, y2`` box: pad to ``w / h = aspect_ratio``,
    divide by 200 and multiply by ``padding``; returns ``center (2,)``, ``scale (2,)``.

    ``convention="darkpose"``: DarkPose's ``(w - 1) / 2`` centre.  A ground-truth box (cleaned,
    ``x2 = x1 + w - 1``) then has width ``x2 - x1 + 1`` (same centre as HRNet, a scale larger by
    one pixel); a detection box ``x, y, x + w, y + h`` keeps width ``w`` and its centre moves to
    ``x + (w - 1) / 2``."""
    x1, y1, x2, y2 = [float(v) for v in bbox]
    w, h = x2 - x1, y2 - y1
    if convention == "darkpose":
        if not detection:
            w, h = w + 1.0, h + 1.0
        c = np.array([x1 + (w - 1.0) * 0.5, y1 + (h - 1.0) * 0.5], dtype=np.float32)
    else:
        c = np.array([x1 + w * 0.5, y1 + h * 0.5], dtype=np.float32)
    if w > aspect_ratio * h:
        h = w / aspect_ratio
    elif w < aspect_ratio * h:
        w = h * aspect_ratio
    return c, np.array([w, h], dtype=np.float32) / PIXEL_STD * padding


def square_crop(bbox, factor: float, margin: float = 0.0, image_size=None) -> Tuple[np.ndarray, np.ndarray]:
    """Square animal crops of CC-SSL / UDA: grow ``x1, y1, x2, y2`` by ``margin`` px
    (clipped to ``image_size = (w, h)`` when given); side = ``factor * max(w, h)``."""
    x1, y1, x2, y2 = [float(v) for v in bbox]
    if margin:
        x1, y1, x2, y2 = x1 - margin, y1 - margin, x2 + margin, y2 + margin
        if image_size is not None:
            w, h = image_size
            x1, y1, x2, y2 = max(x1, 0.0), max(y1, 0.0), min(x2, float(w)), min(y2, float(h))
    c = np.array([(x1 + x2) / 2.0, (y1 + y2) / 2.0], dtype=np.float32)
    s = factor * max(x2 - x1, y2 - y1) / PIXEL_STD
    return c, np.array([s, s], dtype=np.float32)
