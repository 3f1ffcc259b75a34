"""Generic PCK, PCK curves, AUC and end-point error on image coordinates.

Shapes: ``pred`` and ``gt`` are ``(N, K, 2)`` (extra columns such as ``v``
are ignored), ``visible`` is ``(N, K)`` bool, ``norm`` is ``(N,)`` (one
length per sample) or ``(N, 2)`` (separate x and y lengths: the offset is
divided component-wise).  A joint counts when it is visible and its norm is
positive; it is correct when ``||(pred - gt) / norm|| < alpha``.  PCK values
are fractions; per-joint values of joints never counted are NaN.

Normalisers (:func:`bbox_max_side`, :func:`bbox_sqrt_area`,
:func:`keypoint_bbox`, :func:`joint_distance`) turn boxes or reference joints
into ``norm``.  The CC-SSL heatmap protocol is :mod:`evaluation.pck_ccssl`.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from animalpose.arrays import as_numpy

__all__ = [
    "normalized_distances", "pck", "pck_curve", "curve_auc", "auc", "epe",
    "bbox_max_side", "bbox_sqrt_area", "keypoint_bbox", "joint_distance",
]


def _as(x, dtype=np.float64) -> np.ndarray:
    return as_numpy(x, dtype)


def normalized_distances(pred, gt, visible, norm) -> np.ndarray:
    """``(N, K)`` distances ``||(pred - gt) / norm||``; NaN where not counted."""
    p, g = _as(pred)[..., :2], _as(gt)[..., :2]
    if p.shape != g.shape or p.ndim != 3:
        raise ValueError(f"pred {p.shape} and gt {g.shape} must both be (N, K, 2)")
    vis = _as(visible, bool)
    if vis.shape != p.shape[:2]:
        raise ValueError(f"visible {vis.shape} must be (N, K) = {p.shape[:2]}")
    nrm = _as(norm)
    if nrm.shape == (p.shape[0],):
        nrm = np.repeat(nrm[:, None], 2, axis=1)
    if nrm.shape != (p.shape[0], 2):
        raise ValueError(f"norm {nrm.shape} must be (N,) or (N, 2) with N = {p.shape[0]}")
    ok = (nrm > 0).all(axis=1)
    safe = np.where(nrm > 0, nrm, 1.0)
    d = np.sqrt((((p - g) / safe[:, None, :]) ** 2).sum(axis=-1))
    return np.where(vis & ok[:, None], d, np.nan)


def _pck_from_dists(d: np.ndarray, alpha: float) -> dict:
    counted = ~np.isnan(d)
    hit = counted & (np.nan_to_num(d, nan=np.inf) < alpha)
    n = counted.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_joint = np.where(n > 0, hit.sum(axis=0) / np.maximum(n, 1), np.nan)
    total = int(n.sum())
    return {"per_joint": per_joint, "counts": n, "mean": hit.sum() / total if total else float("nan"),
            "alpha": float(alpha)}


def pck(pred, gt, visible, norm, alpha: float = 0.05) -> dict:
    """PCK@alpha: ``{"per_joint": (K,), "counts": (K,), "mean": float, "alpha": float}``.

    ``mean`` is pooled over all counted joint instances (NaN if none).
    """
    return _pck_from_dists(normalized_distances(pred, gt, visible, norm), alpha)


def pck_curve(pred, gt, visible, norm, alphas: Sequence[float]) -> dict:
    """PCK at each threshold: ``{"alphas": (A,), "pck": (A,) pooled, "per_joint": (A, K)}``."""
    d = normalized_distances(pred, gt, visible, norm)
    a = _as(alphas).reshape(-1)
    counted = ~np.isnan(d)
    hit = counted[None] & (np.nan_to_num(d, nan=np.inf)[None] < a[:, None, None])   # (A, N, K)
    n = counted.sum(axis=0)
    total = n.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        per_joint = np.where(n > 0, hit.sum(axis=1) / np.maximum(n, 1), np.nan)
        pooled = hit.sum(axis=(1, 2)) / total if total else np.full(a.shape, np.nan)
    return {"alphas": a, "pck": pooled, "per_joint": per_joint}


def curve_auc(alphas: Sequence[float], values: Sequence[float]) -> float:
    """Trapezoid area under ``values(alphas)`` divided by ``alphas[-1] - alphas[0]`` (in [0, 1])."""
    a, v = _as(alphas).reshape(-1), _as(values).reshape(-1)
    if a.shape != v.shape or a.size < 2:
        raise ValueError("curve_auc needs at least two thresholds and one value per threshold")
    span = a[-1] - a[0]
    if not span > 0:
        raise ValueError("curve_auc: thresholds must increase")
    return float(((v[1:] + v[:-1]) * 0.5 * np.diff(a)).sum() / span)


def auc(pred, gt, visible, norm, alphas: Sequence[float]) -> float:
    """Normalised area under the pooled PCK-vs-threshold curve over ``alphas``.

    E.g. ``alphas = np.linspace(0, 0.08, 81)`` with ``norm`` the heatmap
    width spans the CC-SSL ``calc_metrics`` range (0-0.8 in ``W/10`` units).
    """
    c = pck_curve(pred, gt, visible, norm, alphas)
    return curve_auc(c["alphas"], c["pck"])


def epe(pred, gt, visible) -> float:
    """Mean end-point error (pixels) over visible joints; NaN if none is visible."""
    p, g = _as(pred)[..., :2], _as(gt)[..., :2]
    vis = _as(visible, bool)
    if p.shape != g.shape or vis.shape != p.shape[:-1]:
        raise ValueError(f"epe: pred {p.shape}, gt {g.shape}, visible {vis.shape} do not match")
    if not vis.any():
        return float("nan")
    return float(np.sqrt(((p - g) ** 2).sum(axis=-1))[vis].mean())


# --------------------------------------------------------------------------
# Normalisers
# --------------------------------------------------------------------------
def bbox_max_side(bboxes) -> np.ndarray:
    """``(N, 4)`` ``x, y, w, h`` boxes -> ``(N,)`` ``max(w, h)``."""
    b = _as(bboxes).reshape(-1, 4)
    return np.maximum(b[:, 2], b[:, 3])


def bbox_sqrt_area(bboxes) -> np.ndarray:
    """``(N, 4)`` ``x, y, w, h`` boxes -> ``(N,)`` ``sqrt(w * h)``."""
    b = _as(bboxes).reshape(-1, 4)
    return np.sqrt(np.clip(b[:, 2], 0, None) * np.clip(b[:, 3], 0, None))


def keypoint_bbox(keypoints, visible=None) -> np.ndarray:
    """``(N, K, >=2)`` keypoints -> ``(N, 4)`` ``x, y, w, h`` tight box of the visible ones.

    ``visible`` defaults to ``v > 0`` when a third column exists, else all;
    samples without a visible joint get a zero box.
    """
    kp = _as(keypoints)
    if visible is None:
        visible = kp[..., 2] > 0 if kp.shape[-1] > 2 else np.ones(kp.shape[:2], bool)
    vis = _as(visible, bool)
    x = np.where(vis, kp[..., 0], np.nan)
    y = np.where(vis, kp[..., 1], np.nan)
    any_vis = vis.any(axis=1)
    with np.errstate(invalid="ignore"):
        x0 = np.where(any_vis, np.nanmin(np.where(any_vis[:, None], x, 0), axis=1), 0)
        x1 = np.where(any_vis, np.nanmax(np.where(any_vis[:, None], x, 0), axis=1), 0)
        y0 = np.where(any_vis, np.nanmin(np.where(any_vis[:, None], y, 0), axis=1), 0)
        y1 = np.where(any_vis, np.nanmax(np.where(any_vis[:, None], y, 0), axis=1), 0)
    return np.stack([x0, y0, x1 - x0, y1 - y0], axis=1)


def joint_distance(gt, a: int, b: int) -> np.ndarray:
    """``(N,)`` distance between joints ``a`` and ``b`` of ``(N, K, >=2)`` GT.

    A torso size (shoulder to hip) or head size (e.g. eye to chin); samples
    where either joint is unlabelled should be given ``norm <= 0`` by the
    caller (a non-positive norm excludes the sample).
    """
    g = _as(gt)
    return np.sqrt(((g[:, a, :2] - g[:, b, :2]) ** 2).sum(axis=-1))
