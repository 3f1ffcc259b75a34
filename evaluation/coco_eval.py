"""COCO keypoint AP/AR with pycocotools.

``evaluate_coco`` runs ``COCOeval(gt, dt, "keypoints")`` with
``params.useSegm = None`` (as HRNet does) and returns the ten summary stats
under :data:`STATS_NAMES`.  pycocotools' defaults apply: OKS thresholds
.50:.05:.95, 101 recall points, ``maxDets = 20``, area ranges all / medium
(32^2-96^2) / large; GTs with ``num_keypoints == 0`` or ``iscrowd`` are
ignored.  For a non-COCO joint set pass ``sigmas`` (array, spec or spec name);
it becomes ``params.kpt_oks_sigmas``.  Stats that pycocotools cannot compute
(e.g. no medium GT) are ``-1``.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
from collections import OrderedDict
from typing import Iterable, List, Union

import numpy as np

__all__ = ["STATS_NAMES", "coco_results", "write_results_json", "load_coco_gt", "evaluate_coco", "format_stats_table"]

STATS_NAMES = ("AP", "AP .5", "AP .75", "AP (M)", "AP (L)", "AR", "AR .5", "AR .75", "AR (M)", "AR (L)")


def coco_results(image_ids: Iterable[int], keypoints, scores, category_id: int = 1) -> List[dict]:
    """Official results list: one ``{"image_id", "category_id", "keypoints", "score"}`` per pose.

    ``keypoints`` is ``(M, K, 3)`` (``x, y, keypoint score``), flattened to
    ``3K`` floats; ``scores`` is ``(M,)`` (e.g. :func:`evaluation.oks.rescore`).
    """
    kp = np.asarray(keypoints, dtype=np.float64)
    ids = [int(i) for i in image_ids]
    sc = np.asarray(scores, dtype=np.float64).reshape(-1)
    if kp.ndim != 3 or kp.shape[-1] != 3:
        raise ValueError(f"keypoints must be (M, K, 3), got {kp.shape}")
    if not (len(ids) == kp.shape[0] == sc.shape[0]):
        raise ValueError(f"{len(ids)} image ids, {kp.shape[0]} poses, {sc.shape[0]} scores")
    return [{"image_id": i, "category_id": int(category_id),
             "keypoints": [float(v) for v in kp[m].reshape(-1)], "score": float(sc[m])}
            for m, i in enumerate(ids)]


def write_results_json(path: str, results: List[dict]) -> str:
    """Write a results list as JSON (creating the folder); returns ``path``."""
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    with open(path, "w") as f:
        json.dump(results, f)
    return path


def load_coco_gt(gt, quiet: bool = True):
    """A ``pycocotools.coco.COCO`` from a path, a dataset dict or a ``COCO`` (returned as is)."""
    from pycocotools.coco import COCO
    if isinstance(gt, COCO):
        return gt
    if isinstance(gt, (str, os.PathLike)):
        if not os.path.isfile(gt):
            raise FileNotFoundError(f"COCO ground truth file not found: {gt}")
        with _maybe_quiet(quiet):
            return COCO(str(gt))
    if isinstance(gt, dict):
        for key in ("images", "annotations", "categories"):
            if key not in gt:
                raise ValueError(f"COCO ground truth dict has no {key!r} field")
        coco = COCO()
        coco.dataset = gt
        with _maybe_quiet(quiet):
            coco.createIndex()
        return coco
    raise TypeError(f"gt must be a path, a dict or a pycocotools COCO, got {type(gt).__name__}")


def _maybe_quiet(quiet: bool):
    return contextlib.redirect_stdout(io.StringIO()) if quiet else contextlib.nullcontext()


def read_results(results, num_joints: int, image_ids, empty: str, hint: str = "") -> List[dict]:
    """Checked keypoint results (a list, or a JSON path read here): not empty (``empty`` is the
    message), ``3 * num_joints`` keypoint values each (``hint`` ends that message), image ids
    within ``image_ids``.  Raises ``TypeError`` / ``ValueError`` with one line."""
    if isinstance(results, (str, os.PathLike)):
        with open(results) as f:
            results = json.load(f)
    if not isinstance(results, list):
        raise TypeError(f"results must be a list of dicts or a JSON path, got {type(results).__name__}")
    if len(results) == 0:
        raise ValueError(empty)
    bad = [i for i, r in enumerate(results) if len(r.get("keypoints", ())) != 3 * num_joints]
    if bad:
        raise ValueError(f"result {bad[0]} has {len(results[bad[0]].get('keypoints', ()))} keypoint values, "
                         f"expected 3 x {num_joints}{hint}")
    unknown = sorted({r["image_id"] for r in results} - set(image_ids))
    if unknown:
        raise ValueError(f"results refer to image ids not in the ground truth: {unknown[:5]}")
    return results


def evaluate_coco(gt, results: Union[str, List[dict]], sigmas=None, quiet: bool = True,
                  return_eval: bool = False, image_ids=None):
    """Keypoint AP/AR of ``results`` (list or JSON path) against ``gt`` (path, dict or COCO).

    ``image_ids`` restricts the evaluation to those images (``params.imgIds``;
    default: every image of ``gt``).  Returns an ``OrderedDict`` ``STATS_NAMES -> float``; with
    ``return_eval=True`` also the ``COCOeval`` object.  ``quiet`` silences
    pycocotools' printing (its summary table included).
    """
    from pycocotools.cocoeval import COCOeval
    coco_gt = load_coco_gt(gt, quiet)
    s = None
    if sigmas is not None:
        from .oks import resolve_sigmas
        s = resolve_sigmas(sigmas)
    results = read_results(results, 17 if s is None else s.shape[0], set(coco_gt.getImgIds()),
                           empty="evaluate_coco: the results list is empty (no detected poses); "
                                 "COCO AP is undefined, check the detector boxes / score filtering",
                           hint="" if sigmas is not None else " (pass sigmas for non-COCO joints)")
    with _maybe_quiet(quiet):
        coco_dt = coco_gt.loadRes([dict(r) for r in results])   # loadRes adds fields: copy
        ev = COCOeval(coco_gt, coco_dt, "keypoints")
        ev.params.useSegm = None
        if s is not None:
            ev.params.kpt_oks_sigmas = s
        if image_ids is not None:
            ev.params.imgIds = sorted({int(i) for i in image_ids})
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    stats = OrderedDict((n, float(v)) for n, v in zip(STATS_NAMES, ev.stats))
    return (stats, ev) if return_eval else stats


def format_stats_table(stats_by_name, names=STATS_NAMES) -> str:
    """The stats ``names`` (default: the ten COCO ones; e.g. :data:`evaluation.CROWDPOSE_STATS`) of one
    or several methods (``{name: {stat: value}}``) as a Markdown table."""
    names = tuple(names)
    head = "| method | " + " | ".join(names) + " |"
    rule = "|---|" + "---|" * len(names)
    rows = [f"| {name} | " + " | ".join(f"{float(st.get(k, float('nan'))):.3f}" for k in names) + " |"
            for name, st in stats_by_name.items()]
    return "\n".join([head, rule] + rows)
