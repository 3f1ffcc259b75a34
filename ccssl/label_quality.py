"""How good are a round's pseudo-labels?  Score them against the target's hidden annotations.

CC-SSL never reads the target labels while it trains, but on TigDog (and on the
built-in data) the target training split is annotated, so a saved round
(``OUT/ssl_labels/round_EEE.npz``) can be checked afterwards: which joints
the curriculum kept, how many of them are right, and how many are left/right
swaps.  A label is *correct* when it lies within ``threshold`` pixels of its
ground truth (PCK@0.05 of the identity crop: 0.05 x the crop side), and
*swapped* when it is not correct but lies within ``threshold`` of the visible
ground truth of its flip partner.  Only visible ground-truth joints count.

:func:`score_labels` returns results in the form of
:mod:`evaluation.report` (per-joint fractions with counts), so group and
mean rows are pooled over joints.
"""
from __future__ import annotations

from typing import Dict, Sequence, Tuple

import numpy as np

__all__ = ["LABEL_SERIES", "score_labels", "partner_index", "round_summary"]

#: the series :func:`score_labels` returns, in report order
LABEL_SERIES = ("correct", "swapped", "kept_share", "kept_correct", "kept_swapped", "replaced_correct")


def partner_index(num_joints: int, flip_pairs: Sequence[Tuple[int, int]]) -> np.ndarray:
    """``(K,)`` index of each joint's flip partner (itself when unpaired)."""
    idx = np.arange(num_joints)
    for a, b in flip_pairs:
        idx[a], idx[b] = b, a
    return idx


def _check(name: str, arr, shape) -> np.ndarray:
    a = np.asarray(arr)
    if a.shape != shape:
        raise ValueError(f"{name} has shape {a.shape}, expected {shape}")
    return a


def score_labels(labels, gt, visible, kept, flip_pairs, threshold: float, replaced=None) -> Dict[str, dict]:
    """Per-joint quality of pseudo-labels.

    Args:
        labels, gt: ``(N, K, 2)`` label and ground-truth positions in the same frame (pixels).
        visible: ``(N, K)`` ground-truth visibility; other joints are not scored.
        kept: ``(N, K)`` curriculum mask (the joints trained on).
        flip_pairs: left/right pairs of the spec.
        threshold: distance (pixels) under which a label is correct.
        replaced: optional ``(N, K)`` mask of labels replaced by temporal propagation.

    Returns:
        ``{series: {"per_joint": (K,) fraction (NaN where the count is 0), "counts": (K,)}}`` for
        the series of :data:`LABEL_SERIES` (``replaced_correct`` only with ``replaced``).
        ``correct``, ``swapped`` and ``kept_share`` are over the visible joints; ``kept_*`` over
        the visible kept ones; ``replaced_correct`` over the visible replaced ones.
    """
    labels = np.asarray(labels, np.float64)
    if labels.ndim != 3 or labels.shape[-1] != 2:
        raise ValueError(f"labels must be (N, K, 2), got shape {labels.shape}")
    n, k, _ = labels.shape
    gt = _check("gt", gt, (n, k, 2)).astype(np.float64)
    vis = _check("visible", visible, (n, k)).astype(bool)
    kept = _check("kept", kept, (n, k)).astype(bool)
    if not threshold > 0:
        raise ValueError(f"threshold must be > 0, got {threshold}")
    partner = partner_index(k, flip_pairs)
    correct = np.linalg.norm(labels - gt, axis=-1) < threshold
    near_partner = np.linalg.norm(labels - gt[:, partner], axis=-1) < threshold
    paired = (partner != np.arange(k))[None, :] & vis[:, partner]
    swapped = near_partner & paired & ~correct

    def series(hit: np.ndarray, over: np.ndarray) -> dict:
        counts = over.sum(0)
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = np.where(counts > 0, (hit & over).sum(0) / np.maximum(counts, 1), np.nan)
        return {"per_joint": frac, "counts": counts}

    kv = kept & vis
    out = {"correct": series(correct, vis), "swapped": series(swapped, vis), "kept_share": series(kept, vis),
           "kept_correct": series(correct, kv), "kept_swapped": series(swapped, kv)}
    if replaced is not None:
        out["replaced_correct"] = series(correct, _check("replaced", replaced, (n, k)).astype(bool) & vis)
    return out


def _pooled(res: dict) -> float:
    c = np.asarray(res["counts"], np.float64)
    v = np.nan_to_num(np.asarray(res["per_joint"], np.float64))
    return float((v * c).sum() / c.sum()) if c.sum() > 0 else float("nan")


def round_summary(scores: Dict[str, dict]) -> Dict[str, float]:
    """Pooled (all joints) fraction of every series of one round."""
    return {name: _pooled(res) for name, res in scores.items()}
