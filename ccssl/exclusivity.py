"""Exclusivity check of pseudo-labels: two joints cannot sit on the same spot.

A source model that confuses near and far legs, or eye and chin, often fires two
channels on one image location (both back elbows on a front elbow, the eye on the
chin).  Equivariance and optical flow cannot catch such consistent errors; this
check can.  Of every pair of joints whose labels lie closer than
``min_separation`` input pixels, only the more confident one is kept.
"""
from __future__ import annotations

import numpy as np


def coincident_joints(keypoints: np.ndarray, confidence: np.ndarray, min_separation: float) -> np.ndarray:
    """``(N, K)`` bool: joints whose label lies within ``min_separation`` of a more confident
    joint's label in the same instance (ties: the lower joint index wins).

    ``keypoints (N, K, 2)``, ``confidence (N, K)``."""
    kp = np.asarray(keypoints, np.float64)
    conf = np.asarray(confidence, np.float64)
    if kp.ndim != 3 or kp.shape[-1] != 2 or conf.shape != kp.shape[:2]:
        raise ValueError(f"keypoints must be (N, K, 2) and confidence (N, K), got {kp.shape} and {conf.shape}")
    if not min_separation > 0:
        raise ValueError(f"min_separation must be > 0, got {min_separation}")
    k = kp.shape[1]
    dist = np.linalg.norm(kp[:, :, None] - kp[:, None], axis=-1)               # (N, K, K)
    idx = np.arange(k)
    # other joint i beats joint j: higher confidence, or equal confidence and lower index
    beats = (conf[:, :, None] > conf[:, None, :]) | (
        (conf[:, :, None] == conf[:, None, :]) & (idx[:, None] < idx[None, :])[None])   # [n, i, j]
    close = (dist < min_separation) & ~np.eye(k, dtype=bool)[None]
    return (close & beats).any(axis=1)
