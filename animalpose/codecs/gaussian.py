"""Batched Gaussian target drawing shared by the heatmap codecs (encode side).

* :func:`window_gaussians` - the reference "paste a ``(6σ+1)²`` patch into the
  ``[mu - 3σ, mu + 3σ]`` window" target of HRNet/SimpleBaseline, bearpaw and
  UDP, for all ``N x K`` joints at once (one block scatter, no loop over
  joints), equal to the reference bit for bit;
* :func:`full_gaussians` - DARK's untruncated Gaussian over the whole map.

Coordinates are heatmap pixels, sizes ``(w, h)``.
"""
from __future__ import annotations

import functools
from typing import Optional, Sequence, Tuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["window_bounds", "window_gaussians", "full_gaussians"]


def window_bounds(centers: np.ndarray, sigma: float,
                  heatmap_size: Sequence[int]) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Window corners of the reference targets and whether any of it lies in the map.

    ``ul = int(c - 3σ)``, ``br = int(c + 3σ + 1)`` (``int`` truncates toward
    zero, as Python's does) for ``centers (N, K, 2)``; ``inside (N, K)`` is
    False when ``ul >= size or br < 0`` on either axis.  Returns ``ul, br``
    (``(N, K, 2)`` int64) and ``inside``.
    """
    tmp = 3.0 * sigma
    c = np.asarray(centers, np.float64)
    ul = (c - tmp).astype(np.int64)            # casting truncates toward zero, like int()
    br = (c + tmp + 1).astype(np.int64)
    inside = ((ul < np.asarray(heatmap_size[:2])) & (br >= 0)).all(axis=-1)
    return ul, br, inside


def window_gaussians(centers: np.ndarray, sigma: float, heatmap_size: Sequence[int], draw: np.ndarray,
                     subpixel: Optional[np.ndarray] = None, dtype=np.float64) -> Tuple[np.ndarray, np.ndarray]:
    """Truncated Gaussians pasted into their windows, all joints at once.

    Args:
        centers: ``(N, K, 2)`` integer window centres ``mu`` (heatmap px).
        sigma: Gaussian sigma; the patch is ``S x S`` with ``S = ceil(6σ + 1)``
            and its peak at index ``(6σ + 1) // 2``.
        heatmap_size: ``(w, h)``.
        draw: ``(N, K)`` bool, joints to draw (the reference skips the others).
        subpixel: optional ``(N, K, 2)`` float shift of the Gaussian centre
            inside its window (UDP: ``x / stride - mu``); None = integer centre.

        dtype: the arithmetic of the patch: ``np.float64`` (pytorch-pose / CC-SSL, whose
            ``np.arange(0, size, 1, float)`` is float64) or ``np.float32`` (HRNet's and UDP's
            ``np.arange(0, size, 1, np.float32)``: the difference is 1 ulp in most cells).

    Returns ``heatmaps (N, K, h, w)`` float32 and ``inside (N, K)`` (see
    :func:`window_bounds`).  Pixel ``(x, y)`` of the window ``[ul, br)`` gets
    patch cell ``(x - ul_x, y - ul_y)``, computed with the reference's expression
    in the reference's ``dtype`` and stored as float32, so values match the reference bit for bit.

    Each joint writes one ``min(S, h) x min(S, w)`` block whose corner is
    ``ul`` clamped into the map (cells outside the window are zeros), through
    an overlapping strided view of the zeroed output: ``N * K`` block copies.
    """
    w, h = int(heatmap_size[0]), int(heatmap_size[1])
    centers = np.asarray(centers, np.float64)
    n, k = centers.shape[:2]
    ul, br, inside = window_bounds(centers, sigma, heatmap_size)
    size = 6.0 * sigma + 1
    s = int(np.ceil(size))
    bw, bh = min(s, w), min(s, h)                                        # block size
    corner = np.minimum(np.maximum(ul, 0), (w - bw, h - bh))             # block corner in the map (N, K, 2)
    a0 = np.minimum(np.maximum(corner - ul, (-bw, -bh)), s)             # patch cell at the corner
    dt = np.dtype(dtype)
    table = _patch_table(float(sigma), bw, bh, dt.name) if subpixel is None else None
    if table is not None:
        content = table[a0[..., 1] + bh, a0[..., 0] + bw]                # (N, K, bh, bw)
    else:                                                                # per-joint centres, or a big sigma
        sub = np.zeros(2) if subpixel is None else np.asarray(subpixel, np.float64)
        ax = (a0[..., 0, None] + np.arange(bw)).astype(dt)              # (N, K, bw) patch columns
        ay = (a0[..., 1, None] + np.arange(bh)).astype(dt)
        # the reference's centre is a Python float: in a float32 expression it is rounded to float32 first
        x0 = (size // 2 + sub[..., 0, None]).astype(dt)
        y0 = (size // 2 + sub[..., 1, None]).astype(dt)
        content = np.exp(-((ax[..., None, :] - x0[..., None]) ** 2 + (ay[..., :, None] - y0[..., None]) ** 2)
                         / dt.type(2 * sigma ** 2))
        inx, iny = (ax >= 0) & (ax < s), (ay >= 0) & (ay < s)
        content = (content * (iny[..., :, None] & inx[..., None, :])).astype(np.float32)
    short = br - ul < s                                                  # int() truncation left br - ul = S - 1
    if short.any():
        keep_x = corner[..., 0, None] + np.arange(bw) < br[..., 0, None]
        keep_y = corner[..., 1, None] + np.arange(bh) < br[..., 1, None]
        content = content * (keep_y[..., :, None] & keep_x[..., None, :])
    total = n * k * h * w
    first = (np.arange(n)[:, None] * k + np.arange(k)) * (h * w) + corner[..., 1] * w + corner[..., 0]
    first = np.where(np.asarray(draw, bool) & inside, first, total)     # skipped joints write past the end
    buf = np.zeros(total + (bh - 1) * w + bw, np.float32)
    blocks = np.ndarray((total + 1, bh, bw), np.float32, buffer=buf, strides=(4, 4 * w, 4))
    blocks[first.reshape(-1)] = content.reshape(-1, bh, bw)
    return buf[:total].reshape(n, k, h, w), inside


_TABLE_BYTES = 4 << 20


@functools.lru_cache(maxsize=16)
def _patch_table(sigma: float, bw: int, bh: int, dtype: str = "float64") -> Optional[np.ndarray]:
    """Every ``bh x bw`` block of the zero-padded patch: ``table[b + bh, a + bw]
    = patch[b : b + bh, a : a + bw]`` (zeros outside the patch) for ``a = -bw ..
    S``, ``b = -bh .. S``; ``(S + bh + 1, S + bw + 1, bh, bw)`` float32,
    read-only, or None when it would exceed 4 MiB (sigma > ~3)."""
    size = 6.0 * sigma + 1
    s = int(np.ceil(size))
    if (s + bh + 1) * (s + bw + 1) * bh * bw * 4 > _TABLE_BYTES:
        return None
    dt = np.dtype(dtype)
    b = np.arange(s, dtype=dt)
    c = dt.type(size // 2)
    patch = np.exp(-((b[None, :] - c) ** 2 + (b[:, None] - c) ** 2) / dt.type(2 * sigma ** 2))
    ext = np.zeros((s + 2 * bh, s + 2 * bw), np.float32)
    ext[bh:bh + s, bw:bw + s] = patch
    table = np.ascontiguousarray(sliding_window_view(ext, (bh, bw)))
    table.flags.writeable = False
    return table


def full_gaussians(centers: np.ndarray, sigma: float, heatmap_size: Sequence[int], draw: np.ndarray) -> np.ndarray:
    """``exp(-|p - mu|² / 2σ²)`` over the whole map at float ``centers (N, K, 2)``;
    joints with ``draw (N, K)`` False stay zero.  Returns ``(N, K, h, w)`` float32.

    Evaluated separably (``exp(-dx²/2σ²) · exp(-dy²/2σ²)``), equal to the
    one-exponential form up to float rounding."""
    w, h = int(heatmap_size[0]), int(heatmap_size[1])
    c = np.asarray(centers, np.float64)
    gx = np.exp(-(np.arange(w) - c[..., 0, None]) ** 2 / (2 * sigma ** 2))
    gy = np.exp(-(np.arange(h) - c[..., 1, None]) ** 2 / (2 * sigma ** 2))
    gy = gy * np.asarray(draw, bool)[..., None]
    return (gy[..., :, None] * gx[..., None, :]).astype(np.float32)
