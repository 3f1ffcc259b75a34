"""CrowdPose keypoint AP/AR with pycocotools.

The protocol of the official CrowdPose toolkit (``crowdpose-api``, module
``crowdposetools.cocoeval``), reproduced on pycocotools' ``COCOeval``:

* OKS with the 14 ``crowdpose14`` sigmas and, as the GT scale, ``0.53 * w * h``
  of the GT box (the toolkit ignores any ``area``; xtcocotools does the same
  with ``use_area=False``);
* one area range, ``all`` = ``[0, 1e5^2]``, applied to that same box area;
  ``maxDets = 20``; OKS thresholds .50:.05:.95; GTs with ``num_keypoints == 0``
  or ``iscrowd`` ignored (``num_keypoints`` is taken from the file, or counted
  over the 14 joints where an annotation has none);
* AP, AP .5, AP .75, AR, AR .5, AR .75 over the evaluated images, then AP (E),
  AP (M), AP (H): the AP of separate evaluations on the images whose
  ``crowdIndex`` is easy ``< 0.2``, medium ``[0.2, 0.8)``, hard ``>= 0.8``.

The 0.2 / 0.8 split is the one both ``crowdposetools`` and ``xtcocotools``
use (``get_type_result(first=0.2, second=0.8)``), so the numbers compare
with published AP (E/M/H).  The CrowdPose paper's own bucket boundaries
(0.1 / 0.8 are sometimes quoted) could not be checked here; pass
``thresholds=(0.1, 0.8)`` to use those.  The toolkit rounds AP (E/M/H) to
four decimals; this module does not.  A bucket without GT gives ``-1``.
All nine stats equal xtcocotools 1.14.3's (``keypoints_crowd``,
``use_area=False``) on the random poses of ``tests/test_crowdpose.py``.
"""
from __future__ import annotations

import json
import os
from collections import OrderedDict
from typing import Dict, List, Sequence, Union

import numpy as np

from .coco_eval import _maybe_quiet, load_coco_gt, read_results

__all__ = ["CROWDPOSE_STATS", "CROWD_INDEX_THRESHOLDS", "AREA_FACTOR", "crowdpose_gt", "crowd_buckets",
           "evaluate_crowdpose"]

CROWDPOSE_STATS = ("AP", "AP .5", "AP .75", "AR", "AR .5", "AR .75", "AP (E)", "AP (M)", "AP (H)")
#: crowdIndex boundaries easy | medium | hard of the official toolkit.
CROWD_INDEX_THRESHOLDS = (0.2, 0.8)
#: GT OKS scale = AREA_FACTOR * box w * h (the toolkit's ``tmparea``).
AREA_FACTOR = 0.53
_ALL_AREAS = [0.0, 1e5 ** 2]
_BUCKETS = ("easy", "medium", "hard")


def _sigmas() -> np.ndarray:
    from animalpose.keypoints import get_spec
    return get_spec("crowdpose14").sigmas_array


def crowdpose_gt(gt) -> Dict:
    """The ground truth as the CrowdPose protocol scores it: a copy of the dataset dict (from a
    path, dict or pycocotools ``COCO``) whose annotations have ``area = 0.53 * w * h`` of their box
    and, where missing, ``num_keypoints`` (labelled joints) and ``iscrowd = 0``."""
    if isinstance(gt, (str, os.PathLike)):
        if not os.path.isfile(gt):
            raise FileNotFoundError(f"CrowdPose ground truth file not found: {gt}")
        with open(gt) as f:
            data = json.load(f)
    elif isinstance(gt, dict):
        data = gt
    elif hasattr(gt, "dataset") and isinstance(gt.dataset, dict):
        data = gt.dataset
    else:
        raise TypeError(f"gt must be a path, a dict or a pycocotools COCO, got {type(gt).__name__}")
    for key in ("images", "annotations", "categories"):
        if key not in data:
            raise ValueError(f"CrowdPose ground truth has no {key!r} field")
    k = _sigmas().shape[0]
    anns = [dict(a) for a in data["annotations"]]
    bad = [a.get("id") for a in anns if len(a.get("keypoints", ())) != 3 * k or len(a.get("bbox", ())) != 4]
    if bad:
        raise ValueError(f"ground truth annotation {bad[0]!r} does not have 3 x {k} keypoint values "
                         "and a 4-number bbox")
    boxes = np.asarray([a["bbox"] for a in anns], dtype=np.float64).reshape(-1, 4)
    kp = np.asarray([a["keypoints"] for a in anns], dtype=np.float64).reshape(-1, k, 3)
    areas = (AREA_FACTOR * boxes[:, 2] * boxes[:, 3]).tolist()
    counts = np.count_nonzero(kp[..., 2] > 0, axis=1).tolist()
    for a, area, n in zip(anns, areas, counts):
        a["area"] = area
        a.setdefault("num_keypoints", n)
        a.setdefault("iscrowd", 0)
    return dict(data, annotations=anns)


def crowd_buckets(images: Sequence[dict], thresholds: Sequence[float] = CROWD_INDEX_THRESHOLDS
                  ) -> Dict[str, List[int]]:
    """Image ids per crowd level ``{"easy", "medium", "hard"}`` from the images' ``crowdIndex``:
    easy ``< t0``, medium ``[t0, t1)``, hard ``>= t1``."""
    t = np.asarray(thresholds, dtype=np.float64)
    if t.shape != (2,) or not t[0] <= t[1]:
        raise ValueError(f"thresholds must be two increasing crowdIndex values, got {thresholds!r}")
    missing = [img.get("id") for img in images if not isinstance(img.get("crowdIndex"), (int, float))]
    if missing:
        raise ValueError(f"image {missing[0]!r} has no numeric crowdIndex (needed for AP (E/M/H))")
    ids = np.asarray([img["id"] for img in images], dtype=np.int64)
    level = np.digitize(np.asarray([img["crowdIndex"] for img in images], dtype=np.float64), t)
    return {name: ids[level == i].tolist() for i, name in enumerate(_BUCKETS)}


def _cocoeval(coco_gt, coco_dt, img_ids: List[int]):
    from pycocotools.cocoeval import COCOeval
    ev = COCOeval(coco_gt, coco_dt, "keypoints")
    p = ev.params
    p.useSegm = None
    p.kpt_oks_sigmas = _sigmas()
    p.imgIds = list(img_ids)
    p.maxDets = [20]
    p.areaRng = [list(_ALL_AREAS)]
    p.areaRngLbl = ["all"]
    ev.evaluate()
    ev.accumulate()
    return ev


def _mean_valid(values: np.ndarray) -> float:
    v = values[values > -1]
    return float(v.mean()) if v.size else -1.0


def _summary(ev, which: str, iou=None) -> float:
    """Mean of ``precision`` (``T x R x K x A x M``) or ``recall`` (``T x K x A x M``) over the
    entries that exist, at one OKS threshold or all."""
    s = ev.eval[which]
    if iou is not None:
        s = s[np.isclose(ev.params.iouThrs, iou)]
    return _mean_valid(s)


def evaluate_crowdpose(gt, results: Union[str, List[dict]], image_ids=None, quiet: bool = True,
                       return_eval: bool = False, thresholds: Sequence[float] = CROWD_INDEX_THRESHOLDS):
    """CrowdPose AP/AR of ``results`` (list or JSON path, 14 joints) against ``gt`` (path, dict or COCO).

    ``image_ids`` restricts every stat to those images (default: all of ``gt``).
    Returns an ``OrderedDict`` :data:`CROWDPOSE_STATS` -> float; with
    ``return_eval=True`` also the ``COCOeval`` of all the images.  ``thresholds``
    are the crowdIndex boundaries of the easy / medium / hard buckets.
    """
    data = crowdpose_gt(gt)
    known = {img["id"] for img in data["images"]}
    results = read_results(results, _sigmas().shape[0], known,
                           empty="evaluate_crowdpose: the results list is empty (no detected poses); AP is undefined",
                           hint=" (crowdpose14)")
    ids = sorted(known if image_ids is None else {int(i) for i in image_ids})
    chosen = set(ids)
    buckets = crowd_buckets([img for img in data["images"] if img["id"] in chosen], thresholds)

    with _maybe_quiet(quiet):
        coco_gt = load_coco_gt(data, quiet)
        coco_dt = coco_gt.loadRes([dict(r) for r in results])   # loadRes adds fields: copy
        ev = _cocoeval(coco_gt, coco_dt, ids)
        stats = OrderedDict([
            ("AP", _summary(ev, "precision")), ("AP .5", _summary(ev, "precision", 0.5)),
            ("AP .75", _summary(ev, "precision", 0.75)), ("AR", _summary(ev, "recall")),
            ("AR .5", _summary(ev, "recall", 0.5)), ("AR .75", _summary(ev, "recall", 0.75)),
        ])
        for name, key in zip(_BUCKETS, ("AP (E)", "AP (M)", "AP (H)")):
            ids_b = sorted(buckets[name])
            stats[key] = _summary(_cocoeval(coco_gt, coco_dt, ids_b), "precision") if ids_b else -1.0
    return (stats, ev) if return_eval else stats
