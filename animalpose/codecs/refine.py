"""Batched decode primitives shared by the heatmap codecs.

All functions work on NumPy ``(N, K, H, W)`` maps and ``(N, K, 2)`` heatmap
coordinates ``(x, y)``, with no Python loop over joints or pixels:

* :func:`get_max_preds` - argmax and max value per map (HRNet convention);
* :func:`quarter_offset` - the +-0.25 px shift toward the higher neighbour;
* :func:`gaussian_blur` / :func:`blur_patches` - OpenCV ``GaussianBlur`` of
  whole maps, or of the pixels around given points only;
* :func:`gather_patches` - ``(2r+1)²`` neighbourhoods by advanced indexing;
* :func:`dark_taylor` / :func:`udp_newton` - the sub-pixel steps of DARK and UDP.
"""
from __future__ import annotations

from typing import Tuple

import cv2
import numpy as np

from ..arrays import get_max_preds  # noqa: F401 (re-exported: the codecs' argmax)

__all__ = ["get_max_preds", "quarter_offset", "gaussian_kernel", "gaussian_blur", "gather_patches",
           "blur_patches", "dark_taylor", "udp_newton"]

_BORDERS = ("constant", "reflect", "edge")


def _neighbour_index(heatmaps: np.ndarray, px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """Flat index of ``(py, px)`` in map ``(n, k)`` for every joint, ``(N, K)``."""
    n, k, h, w = heatmaps.shape
    base = (np.arange(n)[:, None] * k + np.arange(k)[None, :]) * (h * w)
    return base + py * w + px


def quarter_offset(heatmaps: np.ndarray, coords: np.ndarray, margin: int = 1) -> np.ndarray:
    """Move ``coords (N, K, 2)`` by ``0.25 * sign(h[x+1] - h[x-1])`` per axis.

    Applied where ``margin < px < W - 1`` and ``margin < py < H - 1`` with
    ``px = floor(x + 0.5)``: HRNet/SimpleBaseline use ``margin=1``
    (``1 < px < W-1``); bearpaw's 1-based ``1 < px < W`` is ``margin=0`` in
    0-based coordinates.  Returns a new float32 array.
    """
    _, _, h, w = heatmaps.shape
    px = np.floor(coords[..., 0] + 0.5).astype(np.int64)
    py = np.floor(coords[..., 1] + 0.5).astype(np.int64)
    ok = (px > margin) & (px < w - 1) & (py > margin) & (py < h - 1)
    pxc, pyc = np.clip(px, 1, w - 2), np.clip(py, 1, h - 2)
    flat = heatmaps.reshape(-1)
    i = _neighbour_index(heatmaps, pxc, pyc)
    diff = np.stack([flat[i + 1] - flat[i - 1], flat[i + w] - flat[i - w]], axis=-1)
    return (coords + np.where(ok[..., None], np.sign(diff) * 0.25, 0.0)).astype(np.float32)


def gaussian_kernel(kernel_size: int) -> np.ndarray:
    """1-D kernel of ``cv2.GaussianBlur((k, k), 0)``: ``cv2.getGaussianKernel(k, 0)``,
    i.e. ``σ = 0.3((k - 1)/2 - 1) + 0.8`` (OpenCV's fixed table for k <= 7)."""
    _check_kernel(kernel_size)
    return cv2.getGaussianKernel(int(kernel_size), 0).ravel()


def _check_kernel(kernel_size: int) -> None:
    if int(kernel_size) != kernel_size or kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be a positive odd integer, got {kernel_size!r}")


def gaussian_blur(heatmaps: np.ndarray, kernel_size: int, border: str = "constant") -> np.ndarray:
    """``cv2.GaussianBlur(map, (k, k), 0)`` of every ``(H, W)`` map of ``(N, K, H, W)``.

    ``border="constant"`` blurs with zero padding (DARK pads each map with
    ``(k-1)/2`` zeros before blurring), ``"reflect"`` with OpenCV's default
    ``BORDER_REFLECT_101`` (UDP blurs the bare map).  All maps are padded by
    ``(k-1)/2`` and stacked into one tall image that a single OpenCV call
    blurs: the padding keeps the maps from mixing, and the result equals the
    per-map call (bit for bit with zero padding, to float32 rounding with
    reflect).  Returns float32.
    """
    _check_kernel(kernel_size)
    if border not in ("constant", "reflect"):
        raise ValueError(f"border must be 'constant' or 'reflect', got {border!r}")
    n, k, h, w = heatmaps.shape
    b = (int(kernel_size) - 1) // 2
    if b == 0 or n * k == 0:
        return np.array(heatmaps, np.float32)
    padded = np.pad(np.asarray(heatmaps, np.float32), ((0, 0), (0, 0), (b, b), (b, b)), mode=border)
    tall = cv2.GaussianBlur(padded.reshape(-1, w + 2 * b), (int(kernel_size), int(kernel_size)), 0)
    return np.ascontiguousarray(tall.reshape(n, k, h + 2 * b, w + 2 * b)[:, :, b:b + h, b:b + w])


def _border_index(i: np.ndarray, size: int, border: str) -> Tuple[np.ndarray, np.ndarray]:
    """Map indices that may fall outside ``[0, size)``; returns (index, valid)."""
    inside = (i >= 0) & (i < size)
    if border == "constant":
        return np.clip(i, 0, size - 1), inside
    if border == "edge" or size == 1:
        return np.clip(i, 0, size - 1), np.ones_like(inside)
    period = 2 * (size - 1)                                   # reflect-101: ... 2 1 | 0 1 2 ... n-1 | n-2 ...
    m = np.mod(i, period)
    return np.where(m >= size, period - m, m), np.ones_like(inside)


def gather_patches(maps: np.ndarray, px: np.ndarray, py: np.ndarray, radius: int,
                   border: str = "constant") -> np.ndarray:
    """``(N, K, 2r+1, 2r+1)`` neighbourhoods of ``maps (N, K, H, W)`` centred on
    integer ``(px, py)`` (each ``(N, K)``); ``patch[..., r + dy, r + dx] =
    map[py + dy, px + dx]``.  Outside the map: zeros (``"constant"``), the
    nearest edge value (``"edge"``) or OpenCV reflect-101 (``"reflect"``).

    Patches inside the map are copied as blocks of an overlapping strided view
    (one copy per joint); only those that cross the border are gathered pixel
    by pixel with the border rule.
    """
    if border not in _BORDERS:
        raise ValueError(f"border must be one of {_BORDERS}, got {border!r}")
    maps = np.ascontiguousarray(maps)
    n, k, h, w = maps.shape
    r, size = int(radius), 2 * int(radius) + 1
    px, py = np.asarray(px, np.int64), np.asarray(py, np.int64)
    base = (np.arange(n)[:, None] * k + np.arange(k)) * (h * w)                 # (N, K)
    out = np.empty((n, k, size, size), maps.dtype)
    flat = maps.reshape(-1)
    inner = (px >= r) & (px < w - r) & (py >= r) & (py < h - r)
    if inner.any():
        count = flat.size - (size - 1) * w - size + 1                          # block starts that fit
        blocks = np.ndarray((count, size, size), maps.dtype, buffer=flat,
                            strides=(maps.itemsize, maps.itemsize * w, maps.itemsize))
        out[inner] = blocks[(base + (py - r) * w + (px - r))[inner]]
    if not inner.all():
        edge = ~inner
        d = np.arange(-r, r + 1)
        ix, okx = _border_index(px[edge][:, None] + d, w, border)              # (M, size)
        iy, oky = _border_index(py[edge][:, None] + d, h, border)
        vals = flat[(base[edge][:, None] + iy * w)[:, :, None] + ix[:, None, :]]
        if border == "constant":
            vals = vals * (oky[:, :, None] & okx[:, None, :])
        out[edge] = vals
    return out


def _band(kern: np.ndarray, radius: int) -> np.ndarray:
    """``(2(r+b)+1, 2r+1)`` matrix ``M[i, j] = kern[i - j]``: correlating a
    ``2(r+b)+1`` vector with the ``2b+1`` kernel gives its ``2r+1`` centre values."""
    b = (len(kern) - 1) // 2
    m = np.zeros((2 * (radius + b) + 1, 2 * radius + 1))
    for j in range(2 * radius + 1):              # 2r+1 columns of a constant matrix
        m[j:j + len(kern), j] = kern
    return m


def blur_patches(heatmaps: np.ndarray, px: np.ndarray, py: np.ndarray, kernel_size: int, radius: int,
                 border: str = "constant") -> np.ndarray:
    """The values of :func:`gaussian_blur` on the ``(2r+1)²`` pixels around
    ``(px, py)`` only, ``(N, K, 2r+1, 2r+1)`` float64.

    Gathers the ``(2(r+b)+1)²`` input neighbourhood (``b = (k-1)/2``) with the
    same border rule and applies the separable OpenCV kernel as two matrix
    products: a few hundred multiply-adds per joint instead of a blur of the
    whole map.  Equal to the whole-map blur up to float32 rounding.
    """
    band = _band(gaussian_kernel(kernel_size), radius)                  # (P, Q), P = 2(r+b)+1, Q = 2r+1
    p_, q_ = band.shape
    patches = gather_patches(heatmaps, px, py, (p_ - 1) // 2, border).astype(np.float64)
    lead = patches.shape[:2]
    rows = _matmul_rows(patches.reshape(-1, p_), band).reshape(-1, p_, q_)          # along x: (M, P, Q)
    out = _matmul_rows(rows.transpose(0, 2, 1).reshape(-1, p_), band).reshape(-1, q_, q_)  # along y: (M, Qx, Qy)
    return out.transpose(0, 2, 1).reshape(*lead, q_, q_)


def _matmul_rows(a: np.ndarray, b: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """``a (M, P) @ b (P, Q)`` in blocks of ``chunk`` rows.  One tall product with
    tiny ``P, Q`` makes OpenBLAS start its thread pool, which on a busy machine
    costs ~40x more than the arithmetic; blocks stay on the calling thread."""
    out = np.empty((a.shape[0], b.shape[1]), np.result_type(a, b))
    for i in range(0, a.shape[0], chunk):
        np.matmul(a[i:i + chunk], b, out=out[i:i + chunk])
    return out


def dark_taylor(log_patches: np.ndarray) -> np.ndarray:
    """DARK's second-order Taylor step from ``(N, K, 5, 5)`` log-heatmap
    neighbourhoods (centre = integer argmax).  Returns ``offset (N, K, 2) =
    -H⁻¹ ∇`` with the reference stencils::

        dx  = (h[x+1] - h[x-1]) / 2            dxx = (h[x+2] - 2 h[x] + h[x-2]) / 4
        dxy = (h[y+1,x+1] - h[y-1,x+1] - h[y+1,x-1] + h[y-1,x-1]) / 4

    (``dy``, ``dyy`` likewise); zero where ``det H == 0``.
    """
    p = np.asarray(log_patches, np.float64)
    c = p[..., 2, 2]
    dx = 0.5 * (p[..., 2, 3] - p[..., 2, 1])
    dy = 0.5 * (p[..., 3, 2] - p[..., 1, 2])
    dxx = 0.25 * (p[..., 2, 4] - 2 * c + p[..., 2, 0])
    dyy = 0.25 * (p[..., 4, 2] - 2 * c + p[..., 0, 2])
    dxy = 0.25 * (p[..., 3, 3] - p[..., 1, 3] - p[..., 3, 1] + p[..., 1, 1])
    return _newton(dx, dy, dxx, dyy, dxy)


def udp_newton(log_patches: np.ndarray, eps: float = 0.0) -> np.ndarray:
    """UDP's Newton step from ``(N, K, 3, 3)`` (edge-padded) log-heatmap
    neighbourhoods, unscaled differences::

        dx  = (h[x+1] - h[x-1]) / 2            dxx = h[x+1] - 2 h[x] + h[x-1]
        dxy = (h[y+1,x+1] - h[x+1] - h[y+1] + 2 h - h[x-1] - h[y-1] + h[y-1,x-1]) / 2

    (the mean of the forward and backward 2x2 mixed differences).  Returns
    ``-(H + eps·I)⁻¹ ∇``, ``(N, K, 2)``; zero where that matrix is singular
    (the original code's fallback; mmpose adds ``eps`` = float32 epsilon).
    """
    p = np.asarray(log_patches, np.float64)
    c = p[..., 1, 1]
    xp, xm, yp, ym = p[..., 1, 2], p[..., 1, 0], p[..., 2, 1], p[..., 0, 1]
    dx, dy = 0.5 * (xp - xm), 0.5 * (yp - ym)
    dxx = xp - 2 * c + xm
    dyy = yp - 2 * c + ym
    dxy = 0.5 * (p[..., 2, 2] - xp - yp + 2 * c - xm - ym + p[..., 0, 0])
    return _newton(dx, dy, dxx + eps, dyy + eps, dxy)


def _newton(dx, dy, dxx, dyy, dxy) -> np.ndarray:
    """``-H⁻¹ g`` for the symmetric 2x2 ``H = [[dxx, dxy], [dxy, dyy]]``; 0 where det = 0."""
    det = dxx * dyy - dxy * dxy
    ok = det != 0
    safe = np.where(ok, det, 1.0)
    ox = -(dyy * dx - dxy * dy) / safe
    oy = -(dxx * dy - dxy * dx) / safe
    return np.where(ok[..., None], np.stack([ox, oy], axis=-1), 0.0)
