"""COCO-format evaluation ground truth of any loader, in the joint order of a spec.

:func:`coco_ground_truth` takes the loader's own ground truth when it has one
(``source.coco_ground_truth()``: the whole annotation file as the loader keeps
it, crowd and unlabelled annotations included, as pycocotools evaluates; also
behind a ``limit`` wrapper, scored on the evaluated images only) and otherwise
(subsets, loaders without one) builds it from the samples (one non-crowd annotation per instance,
``area`` = box ``w * h``, ``v`` = 2 for every labelled joint).  Keypoints are
mapped into ``spec`` when the loader's spec differs, and image ids are
renumbered ``1..N`` (pycocotools wants integers) with the map returned.
"""
from __future__ import annotations

import copy
import os
from typing import Any, Dict, Tuple

import numpy as np

from animalpose.keypoints import get_mapping, get_spec

__all__ = ["coco_ground_truth", "samples_ground_truth"]


def _unwrap(source):
    """The loader itself, or the loader behind a first-``n`` (``limit``) wrapper; any other
    view (a subset) gets its ground truth from its samples."""
    if hasattr(source, "coco_ground_truth"):
        return source
    inner = getattr(source, "source", None)
    if inner is not None and hasattr(source, "n") and hasattr(inner, "coco_ground_truth"):
        return inner
    return source


def samples_ground_truth(source) -> Dict:
    """COCO ground truth made from ``source.annotation(i)`` for every instance (source spec order)."""
    spec = get_spec(source.spec)
    images, anns, seen = [], [], set()
    for i in range(len(source)):
        a = source.annotation(i)
        if a.image_id not in seen:
            seen.add(a.image_id)
            images.append({"id": a.image_id, "file_name": os.path.basename(a.image_path or str(a.image_id))})
        kp = np.asarray(a.keypoints, np.float64)
        vis = kp[:, 2] > 0
        flat = np.where(vis[:, None], np.concatenate([kp[:, :2], np.full((len(kp), 1), 2.0)], 1), 0.0)
        x1, y1, x2, y2 = [float(v) for v in a.bbox]
        w, h = max(x2 - x1, 0.0), max(y2 - y1, 0.0)
        anns.append({"id": i + 1, "image_id": a.image_id, "category_id": 1, "iscrowd": 0,
                     "keypoints": [float(v) for v in flat.reshape(-1)], "num_keypoints": int(vis.sum()),
                     "bbox": [x1, y1, w, h], "area": w * h})
    cats = [{"id": 1, "name": "object", "keypoints": list(spec.joints), "skeleton": []}]
    return {"images": images, "annotations": anns, "categories": cats}


def coco_ground_truth(source, spec) -> Tuple[Dict, Dict[Any, int]]:
    """``(gt dict, image id -> integer id)`` of ``source`` (any loader, ``limit`` wrapper or
    not) with keypoints in ``spec``'s order (see the module docstring)."""
    spec = get_spec(spec)
    inner = _unwrap(source)
    if hasattr(inner, "coco_ground_truth"):
        gt, src_spec = copy.deepcopy(inner.coco_ground_truth()), inner.spec
    else:
        gt, src_spec = samples_ground_truth(source), source.spec
    ids = {img["id"]: n + 1 for n, img in enumerate(gt["images"])}
    for img in gt["images"]:
        img["id"] = ids[img["id"]]
    mapping = None if src_spec == spec.name else get_mapping(src_spec, spec.name)
    k_src = get_spec(src_spec).num_joints
    for ann in gt["annotations"]:
        ann["image_id"] = ids[ann["image_id"]]
        if mapping is not None:
            kp = mapping.apply(np.asarray(ann["keypoints"], np.float64).reshape(k_src, 3))
            ann["keypoints"] = [float(v) for v in kp.reshape(-1)]
            ann["num_keypoints"] = int((kp[:, 2] > 0).sum())
    for c in gt["categories"]:
        c["keypoints"] = list(spec.joints)
        c["skeleton"] = [[a + 1, b + 1] for a, b in spec.skeleton]
    return gt, ids
