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

import csv
import json
import os
from typing import Dict, List, Sequence

import numpy as np

__all__ = ["LABEL_SERIES", "ROUND_COLUMNS", "score_labels", "round_summary", "score_rounds", "rounds_markdown"]

#: the series :func:`score_labels` returns, in report order
LABEL_SERIES = ("correct", "swapped", "kept_share", "kept_correct", "kept_swapped", "replaced_correct")


def _check(name: str, arr, shape) -> np.ndarray:
    a = np.asarray(arr)
    if a.shape != shape:
        raise ValueError(f"{name} has shape {a.shape}, expected {shape}")
    return a


def score_labels(labels, gt, visible, kept, flip_index, threshold: float, replaced=None) -> Dict[str, dict]:
    """Per-joint quality of pseudo-labels.

    Args:
        labels, gt: ``(N, K, 2)`` label and ground-truth positions in the same frame (pixels).
        visible: ``(N, K)`` ground-truth visibility; other joints are not scored.
        kept: ``(N, K)`` curriculum mask (the joints trained on).
        flip_index: ``(K,)`` each joint's flip partner, itself when unpaired (``KeypointSpec.flip_index``).
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
    partner = _check("flip_index", flip_index, (k,)).astype(np.int64)
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


#: columns of the per-round table written by :func:`score_rounds` (fractions in percent)
ROUND_COLUMNS = ("round", "epoch", "threshold", "kept", "correct", "swapped", "kept_correct", "kept_swapped",
                 "replaced", "replaced_correct")


def _pct(v: float):
    return None if not np.isfinite(v) else round(100.0 * float(v), 2)


def rounds_markdown(rows: List[dict]) -> str:
    """The rounds table of :func:`score_rounds` as Markdown."""
    cell = lambda v: "-" if v is None else str(v)  # noqa: E731
    lines = ["| " + " | ".join(ROUND_COLUMNS) + " |", "|" + "---|" * len(ROUND_COLUMNS)]
    lines += ["| " + " | ".join(cell(r[c]) for c in ROUND_COLUMNS) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def score_rounds(cfg, files: Sequence[str], out_dir: str, alpha: float = 0.05) -> List[dict]:
    """Score saved pseudo-label files of a CC-SSL run (config ``cfg``) against its target's labels.

    Writes ``out_dir/<file stem>.{md,csv,json,png}`` per round and ``out_dir/rounds.{md,csv,json}``;
    returns the rows of the rounds table (:data:`ROUND_COLUMNS`, percent)."""
    from animalpose.engine.data import build_source
    from animalpose.keypoints import get_spec
    from animalpose.transforms import affine_points
    from evaluation.report import write_report

    from .pseudo_labels import PseudoLabels

    if not alpha > 0:
        raise ValueError(f"alpha must be > 0, got {alpha}")
    if cfg.ccssl is None:
        raise ValueError("the config has no `ccssl` section; expected a CC-SSL run")
    spec = get_spec(cfg.spec)
    src = build_source(cfg.ccssl.target_data)
    gt = np.stack([np.asarray(src.annotation(i).keypoints, np.float64) for i in range(len(src))])
    threshold = alpha * float(max(cfg.codec.input_size))
    os.makedirs(out_dir, exist_ok=True)
    rows = []
    for path in files:
        labels = PseudoLabels.load(path)
        if labels.keypoints.shape != gt.shape[:2] + (2,):
            raise ValueError(f"{path}: {labels.keypoints.shape[0]} instances x {labels.keypoints.shape[1]} joints, "
                             f"but the target set has {gt.shape[0]} x {gt.shape[1]} (different data or spec?)")
        gt_crop = affine_points(gt[..., :2], labels.matrices)
        scores = score_labels(labels.keypoints, gt_crop, gt[..., 2] > 0, labels.weights > 0, spec.flip_index,
                              threshold, replaced=labels.replaced > 0)
        stem = os.path.splitext(os.path.basename(path))[0]
        write_report(out_dir, {name: scores[name] for name in LABEL_SERIES}, spec, stem=stem,
                     title=f"pseudo-labels {stem} (% of visible joints)")
        pooled = round_summary(scores)
        rows.append({"round": stem, "epoch": labels.epoch, "threshold": round(labels.threshold, 4),
                     "kept": _pct(pooled["kept_share"]), "correct": _pct(pooled["correct"]),
                     "swapped": _pct(pooled["swapped"]), "kept_correct": _pct(pooled["kept_correct"]),
                     "kept_swapped": _pct(pooled["kept_swapped"]),
                     "replaced": int(scores["replaced_correct"]["counts"].sum()),
                     "replaced_correct": _pct(pooled["replaced_correct"])})
    with open(os.path.join(out_dir, "rounds.json"), "w") as f:
        json.dump({"alpha": alpha, "threshold_px": threshold, "unit": "percent", "rounds": rows}, f, indent=2)
    with open(os.path.join(out_dir, "rounds.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=ROUND_COLUMNS)
        w.writeheader()
        w.writerows(rows)
    with open(os.path.join(out_dir, "rounds.md"), "w") as f:
        f.write(f"Pseudo-labels against the target labels (correct within {threshold:g} px; percent of the "
                f"visible joints, kept_* of the kept ones, replaced_correct of the flow-replaced ones)\n\n"
                + rounds_markdown(rows))
    return rows
