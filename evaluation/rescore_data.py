"""Training data of DEKR's rescore net: each predicted pose with its best OKS against the ground truth.

DEKR learns to predict a pose's OKS from the pose alone (``DEKRRescoreNet``).
Its training set is made by evaluating a trained model's predictions on the
*training* images with COCOeval's per-image matching replaced. The official
code does this in ``COCORescoreEval.evaluateImg``. :func:`rescore_samples`
follows that code exactly:

* OKS comes from pycocotools' own ``computeOks``. GTs with ``iscrowd`` or
  ``num_keypoints == 0`` are *ignored*, as is a GT whose ``area`` lies outside
  the current area range. Box distances are used for GTs with no labelled joint.
* Detections are ranked by score and the first ``maxDets`` (20) are kept for
  each image.
* A detection's target is its largest OKS over the image's non-ignored GTs. If
  every GT is ignored, the largest over all of them is used. No one-to-one
  matching is done and there is no OKS threshold.
* Nothing is recorded for an image with no GT or no detection.
* The evaluation runs once per area range. COCO keypoints have three ranges
  (all, medium, large), so each detection appears **three times**, with a
  target that depends on the range. CrowdPose has one range,
  ``[0, 1e5^2]`` on ``0.53 * w * h``.

The official loader later sets targets equal to 1.0 to 0 (``get_joint``).
That step belongs to training, see :func:`animalpose.engine.rescore.fit_rescore_net`.
"""
from __future__ import annotations

from typing import List, Tuple, Union

import numpy as np

from .coco_eval import _maybe_quiet, load_coco_gt, read_results

__all__ = ["rescore_samples"]


def _rescore_eval_class():
    from pycocotools.cocoeval import COCOeval

    class _RescoreEval(COCOeval):
        """``COCOeval`` whose ``evaluateImg`` records ``(pose, best OKS)`` instead of matching."""

        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            self.samples: List[Tuple[np.ndarray, float]] = []

        def evaluateImg(self, imgId, catId, aRng, maxDet):           # noqa: N802 (pycocotools' name)
            p = self.params
            if p.useCats:
                gt, dt = self._gts[imgId, catId], self._dts[imgId, catId]
            else:
                gt = [g for c in p.catIds for g in self._gts[imgId, c]]
                dt = [d for c in p.catIds for d in self._dts[imgId, c]]
            if not gt and not dt:
                return None
            ignored = np.array([bool(g["ignore"]) or not (aRng[0] <= g["area"] <= aRng[1]) for g in gt], bool)
            order = np.argsort([-d["score"] for d in dt], kind="mergesort")[:maxDet]
            ious = self.ious[imgId, catId]
            if len(ious) == 0:
                return None
            ious = np.asarray(ious, dtype=np.float64)          # (D sorted by score, G in file order)
            cols = ~ignored if (~ignored).any() else np.ones_like(ignored)
            best = ious[:, cols].max(axis=1)
            for row, d in enumerate(order):
                self.samples.append((np.asarray(dt[d]["keypoints"], np.float64), float(best[row])))
            return None

    return _RescoreEval


def rescore_samples(gt, results: Union[str, List[dict]], sigmas=None, benchmark: str = "coco"
                    ) -> Tuple[np.ndarray, np.ndarray]:
    """Rescore-net training samples from keypoint ``results`` (list or JSON path) on ``gt``.

    ``gt`` is an annotation path, dict or pycocotools ``COCO``. ``benchmark`` is
    ``coco`` (three area ranges, ``sigmas`` default COCO's) or ``crowdpose``
    (one range, box-based area, the 14 CrowdPose sigmas). Returns
    ``poses (N, K, 3)`` (x, y, joint score as in the results) and
    ``oks (N,)``, in COCOeval's loop order: area range, then image. See the
    module docstring for how a target is chosen.
    """
    from .oks import resolve_sigmas
    if benchmark not in ("coco", "crowdpose"):
        raise ValueError(f"benchmark must be coco or crowdpose, got {benchmark!r}")
    if benchmark == "crowdpose":
        from .crowdpose_eval import _ALL_AREAS, crowdpose_gt
        gt = crowdpose_gt(gt)
        from animalpose.keypoints import get_spec
        s = get_spec("crowdpose14").sigmas_array
    else:
        s = resolve_sigmas(sigmas)
    coco_gt = load_coco_gt(gt)
    results = read_results(results, s.shape[0], set(coco_gt.getImgIds()),
                           empty="rescore data: the results list is empty (the model detected no pose)")
    with _maybe_quiet(True):
        coco_dt = coco_gt.loadRes([dict(r) for r in results])
        ev = _rescore_eval_class()(coco_gt, coco_dt, "keypoints")
        ev.params.useSegm = None
        ev.params.kpt_oks_sigmas = s
        if benchmark == "crowdpose":
            ev.params.areaRng = [list(_ALL_AREAS)]
            ev.params.areaRngLbl = ["all"]
            ev.params.maxDets = [20]
        ev.evaluate()
    k = s.shape[0]
    if not ev.samples:
        return np.zeros((0, k, 3)), np.zeros((0,))
    poses = np.stack([p.reshape(k, 3) for p, _ in ev.samples])
    return poses, np.array([o for _, o in ev.samples], dtype=np.float64)
