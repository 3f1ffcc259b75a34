"""Evaluation on the held-out species: per-joint PCK (bbox-normalised) and COCO OKS AP.

Both come from the engine's :func:`~animalpose.engine.evaluator.evaluate`:
``pck-bbox`` as is, ``coco`` through :class:`CocoView`, which gives an
Animal-Pose split the ``ann_file`` pycocotools needs - a COCO-format copy of
its ground truth (one category, the spec's joint names, ``area`` = box
``w * h`` because Animal-Pose has no masks) - and integer image ids.  OKS
uses the spec's sigmas (``animalpose20``: mmpose's values).
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import replace
from typing import Dict

import numpy as np

from animalpose.engine.evaluator import evaluate
from animalpose.keypoints import get_spec


def coco_ground_truth(source, spec) -> Dict:
    """COCO keypoint ground truth (a dict) of every instance of ``source`` in ``spec``'s order."""
    spec = get_spec(spec)
    mapping = None
    if getattr(source, "spec", spec.name) != spec.name:
        from animalpose.keypoints import get_mapping
        mapping = get_mapping(source.spec, spec.name)
    ids, images, anns = {}, [], []
    for i in range(len(source)):
        a = source.annotation(i)
        key = a.image_id
        if key not in ids:
            ids[key] = len(ids) + 1
            images.append({"id": ids[key], "file_name": os.path.basename(a.image_path or str(key))})
        kp = np.asarray(a.keypoints, np.float64)
        if mapping is not None:
            kp = mapping.apply(kp)
        vis = kp[:, 2] > 0
        flat = np.where(vis[:, None], np.concatenate([kp[:, :2], np.full((len(kp), 1), 2.0)], 1), 0.0)
        x1, y1, x2, y2 = [float(v) for v in a.bbox]
        w, h = max(x2 - x1, 0.0), max(y2 - y1, 0.0)
        anns.append({"id": i + 1, "image_id": ids[key], "category_id": 1, "iscrowd": 0,
                     "keypoints": [float(v) for v in flat.reshape(-1)], "num_keypoints": int(vis.sum()),
                     "bbox": [x1, y1, w, h], "area": w * h})
    cats = [{"id": 1, "name": "animal", "supercategory": "animal", "keypoints": list(spec.joints),
             "skeleton": []}]
    return {"images": images, "annotations": anns, "categories": cats}, ids


class CocoView:
    """``source`` with integer image ids and an ``ann_file`` holding its COCO-format ground truth."""

    def __init__(self, source, spec, folder: str):
        self.source, self.spec = source, source.spec
        gt, self.ids = coco_ground_truth(source, spec)
        os.makedirs(folder, exist_ok=True)
        fd, self.ann_file = tempfile.mkstemp(prefix="gt_", suffix=".json", dir=folder)
        with os.fdopen(fd, "w") as f:
            json.dump(gt, f)

    def __len__(self):
        return len(self.source)

    def _fix(self, s):
        return replace(s, image_id=self.ids[s.image_id])

    def annotation(self, i):
        return self._fix(self.source.annotation(i))

    def __getitem__(self, i):
        return self._fix(self.source[i])

    def close(self):
        if os.path.isfile(self.ann_file):
            os.remove(self.ann_file)


def evaluate_species(model, source, spec, codec, normalize, device, flip: bool = False, alpha: float = 0.05,
                     warp: str = "standard", batch_size: int = 16, workers: int = 0, tmp_dir: str = None) -> Dict:
    """``{"pck": pck-bbox result (per_joint, counts, mean, auc, ...), "coco": {"AP", "stats"}}``."""
    pck = evaluate(model, source, "pck-bbox", codec, normalize, spec, device, flip=flip, batch_size=batch_size,
                   workers=workers, alpha=alpha, warp=warp)
    view = CocoView(source, spec, tmp_dir or tempfile.gettempdir())
    try:
        coco = evaluate(model, view, "coco", codec, normalize, spec, device, flip=flip, batch_size=batch_size,
                        workers=workers, warp=warp)
    finally:
        view.close()
    coco.pop("results", None)
    return {"pck": pck, "coco": coco}
