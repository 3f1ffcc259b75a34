"""Evaluation on the held-out species: per-joint PCK (bbox-normalised) and COCO OKS AP.

Both come from the engine's :func:`~animalpose.engine.evaluator.evaluate`:
``pck-bbox`` as is, ``coco`` against the split's own COCO-format ground truth
(:func:`datasets.coco_gt.coco_ground_truth`: ``area`` = box ``w * h`` because
Animal-Pose has no masks, integer image ids).  OKS uses the spec's sigmas
(``animalpose20``: mmpose's values).
"""
from __future__ import annotations

from typing import Dict

from animalpose.engine.evaluator import evaluate


def evaluate_species(model, source, spec, codec, normalize, device, flip: bool = False, alpha: float = 0.05,
                     warp: str = "standard", batch_size: int = 16, workers: int = 0) -> Dict:
    """``{"pck": pck-bbox result (per_joint, counts, mean, auc, ...), "coco": {"AP", "stats"}}``."""
    pck = evaluate(model, source, "pck-bbox", codec, normalize, spec, device, flip=flip, batch_size=batch_size,
                   workers=workers, alpha=alpha, warp=warp)
    coco = evaluate(model, source, "coco", codec, normalize, spec, device, flip=flip, batch_size=batch_size,
                    workers=workers, warp=warp)
    coco.pop("results", None)
    return {"pck": pck, "coco": coco}
