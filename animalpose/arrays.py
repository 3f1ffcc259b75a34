"""Array primitives shared by the metrics and the codecs: conversion and heatmap argmax.

They sit below both (``evaluation`` and ``animalpose.codecs`` import them) so that a metric never
reaches into a codec's internals.
"""
from __future__ import annotations

from typing import Tuple

import numpy as np

__all__ = ["as_numpy", "get_max_preds", "argmax_1based"]


def as_numpy(x, dtype=None) -> np.ndarray:
    """NumPy view/copy of an array-like or torch tensor (``.detach().cpu().numpy()``)."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=dtype)


def get_max_preds(heatmaps: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Integer argmax of each map: ``x = idx % W``, ``y = idx // W`` of the
    flattened map (first maximum on ties), set to ``(0, 0)`` where the max is
    ``<= 0``.  ``heatmaps (N, K, H, W)`` -> ``coords (N, K, 2)`` float32,
    ``maxvals (N, K)``."""
    n, k, _, w = heatmaps.shape
    flat = heatmaps.reshape(n, k, -1)
    idx = flat.argmax(axis=2)
    maxvals = np.take_along_axis(flat, idx[..., None], axis=2)[..., 0]
    coords = np.stack([idx % w, idx // w], axis=-1).astype(np.float32)
    coords *= (maxvals > 0)[..., None]
    return coords, maxvals


def argmax_1based(heatmaps) -> Tuple[np.ndarray, np.ndarray]:
    """CC-SSL/bearpaw ``get_preds``: 1-based integer argmax of each map.

    ``heatmaps (N, K, H, W)`` (NumPy or torch) -> ``coords (N, K, 2)`` float32
    with ``x = idx % W + 1``, ``y = idx // W + 1`` of the flattened map (first
    maximum on ties), ``(0, 0)`` where the max is ``<= 0``; ``maxvals (N, K)``.
    Floating maps keep their dtype (no float32 rounding before the argmax).
    """
    hm = as_numpy(heatmaps)
    if not np.issubdtype(hm.dtype, np.floating):
        hm = hm.astype(np.float32)
    if hm.ndim != 4:
        raise ValueError(f"heatmaps must have shape (N, K, H, W), got {hm.shape}")
    coords, maxvals = get_max_preds(hm)
    coords = (coords + 1) * (maxvals > 0)[..., None]
    return coords.astype(np.float32), maxvals
