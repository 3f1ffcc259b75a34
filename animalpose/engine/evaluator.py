"""Evaluation protocols run on a model and a data source.

=============  ================================================================
``ccssl``      CC-SSL PCK@0.05 at heatmap level: argmax of the output map vs the
               argmax of the bearpaw ground-truth map (drawn for joints with
               ``y > 0``), batches of ``eval.batch_size`` (6), exact averaging.
``uda``        the same with UDA's rule: a joint counts only when its 7x7
               Gaussian lies entirely inside the map (use ``crop: uda`` data).
``pck-bbox``   PCK@alpha in image pixels normalised by the longer bbox side
               (the dataset's box, or with ``box="keypoints"`` the tight box of
               the visible ground-truth joints), with AUC (0-0.5) and EPE;
               decoded by the model's codec.
``coco``       COCO keypoint AP/AR via pycocotools with HRNet rescoring
               (keypoint scores > 0.2 x box score) and OKS-NMS 0.9; a CrowdPose
               source is scored with the CrowdPose protocol instead
               (:func:`keypoint_benchmark`).
=============  ================================================================

:func:`keypoint_benchmark` is the one place that decides how keypoint AP is
computed for a source: :func:`evaluation.evaluate_coco` (ten stats, OKS sigmas
of the model's spec) for COCO-format data,
:func:`evaluation.evaluate_crowdpose` (nine stats, spec ``crowdpose14``) for
:class:`datasets.crowdpose.CrowdPoseKeypoints`.  The top-down ``coco`` protocol,
the bottom-up evaluation and the ``evaluate`` command's tables all go through it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, Optional, Sequence, Tuple

import numpy as np
import torch
from torch.utils.data import DataLoader

from evaluation import (CCSSLAccumulator, CROWDPOSE_STATS, STATS_NAMES, evaluate_coco, evaluate_crowdpose, oks_nms,
                        pck, rescore)
from evaluation.coco_eval import coco_results
from evaluation.pck import bbox_max_side, curve_auc, epe, keypoint_bbox, pck_curve

from ..codecs import BearpawHeatmap
from ..keypoints import get_spec
from ..transforms import affine_points, invert_affine
from .config import AugmentConfig
from .data import TopDownDataset, unwrap_source

PROTOCOLS = ("ccssl", "uda", "pck-bbox", "coco")
#: pck-bbox normalisers: the dataset's own box, or the tight box of the visible ground-truth joints
BOXES = ("annotation", "keypoints")
PRIMARY = {"ccssl": "mean", "uda": "mean", "pck-bbox": "mean", "coco": "AP"}


@dataclass(frozen=True)
class KeypointBenchmark:
    """How keypoint AP is computed for one kind of COCO-format source.

    ``name`` tags logs (``coco`` | ``crowdpose``), ``title`` names the data in
    messages, ``stat_names`` are the keys (in order) of the stats dict, ``spec``
    is the joint set the results must use (``None``: any, COCO's evaluator takes
    the sigmas of the model's spec).
    """

    name: str
    title: str
    stat_names: Tuple[str, ...]
    spec: Optional[str]
    _score: Callable

    def check_spec(self, spec) -> None:
        """A one-line error when predictions in ``spec`` cannot be scored by this benchmark."""
        name = get_spec(spec).name
        if self.spec is not None and name != self.spec:
            raise ValueError(f"{self.title} data is scored in spec {self.spec}; the model predicts {name}")

    def score(self, ann_file: str, results, spec, image_ids: Optional[Sequence[int]] = None) -> Dict[str, float]:
        """The stats (:attr:`stat_names` -> float) of ``results`` against ``ann_file``, on ``image_ids``
        (default: every image of the file)."""
        self.check_spec(spec)
        return self._score(ann_file, results, spec, image_ids)


def _score_coco(ann_file, results, spec, image_ids):
    return evaluate_coco(ann_file, results, sigmas=spec, image_ids=image_ids)


def _score_crowdpose(ann_file, results, spec, image_ids):
    return evaluate_crowdpose(ann_file, results, image_ids=image_ids)


COCO_BENCHMARK = KeypointBenchmark("coco", "COCO", tuple(STATS_NAMES), None, _score_coco)
CROWDPOSE_BENCHMARK = KeypointBenchmark("crowdpose", "CrowdPose", tuple(CROWDPOSE_STATS), "crowdpose14",
                                        _score_crowdpose)


def keypoint_benchmark(source) -> KeypointBenchmark:
    """The benchmark that scores ``source`` (a loader of :func:`~animalpose.engine.data.build_source`,
    ``limit`` wrapper or not): CrowdPose's for data whose registry entry says ``crowdpose``,
    COCO's (OKS AP with the spec's sigmas) for anything else."""
    return CROWDPOSE_BENCHMARK if getattr(unwrap_source(source), "benchmark", "pck") == "crowdpose" \
        else COCO_BENCHMARK


def heatmaps_of(output) -> torch.Tensor:
    """The evaluated heatmaps of a model output: the last stack of a hourglass list,
    the heatmap part of a ``(heatmaps, offsets)`` pair, else the tensor itself."""
    if isinstance(output, (list, tuple)):
        return output[-1] if isinstance(output, list) else output[0]
    return output


@torch.no_grad()
def predict(model, images: torch.Tensor, codec, spec, flip: bool = False) -> torch.Tensor:
    """``(N, C, H, W)`` heatmaps of a batch, merged with the mirrored prediction when ``flip``."""
    out = heatmaps_of(model(images))
    if flip:
        out_f = heatmaps_of(model(torch.flip(images, dims=[3])))
        out = codec.flip_test(out, out_f, spec)
    return out


class _ProtocolTargets:
    """Bearpaw ground-truth maps of the CC-SSL / UDA protocols.

    A joint is drawn when its label exists in the source image (``y > 0``, the
    reference's test); with ``whole_window`` (UDA's ``draw_labelmap_ori``) also
    only when its whole ``(6σ+1)²`` window lies inside the map.
    """

    def __init__(self, codec: BearpawHeatmap, whole_window: bool):
        self.codec, self.whole_window = codec, whole_window
        self.input_size, self.heatmap_size = codec.input_size, codec.heatmap_size

    def encode_with_source(self, keypoints, source_keypoints):
        """``keypoints (N, K, 3)`` in input pixels; ``source_keypoints`` the same joints in the source image."""
        kp = np.asarray(keypoints, np.float64)
        hm_xy = self.codec.to_heatmap(kp[..., :2])
        draw = np.asarray(source_keypoints)[..., 1] > 0
        if self.whole_window:
            mu = np.trunc(hm_xy)
            r = int(3 * self.codec.sigma)
            w, h = self.heatmap_size
            draw &= ((mu - r >= 0) & (mu + r <= np.array([w - 1, h - 1]))).all(axis=-1)
        hm, wt = self.codec.encode_hm(hm_xy, kp[..., 2], draw=draw)
        return {"heatmaps": hm, "weights": wt}


def _loader(ds, batch_size: int, workers: int) -> DataLoader:
    return DataLoader(ds, batch_size=batch_size, shuffle=False, num_workers=workers, drop_last=False,
                      persistent_workers=False)


def evaluate(model, source, protocol: str, codec, normalize, spec, device, flip: bool = False,
             batch_size: int = 6, workers: int = 0, alpha: float = 0.05, progress=None,
             warp: str = "standard", box: str = "annotation", antialias: bool = False,
             scale_dtype: str = "float64") -> Dict:
    """Run ``protocol`` (see module docstring) and return its result dict.

    ``ccssl``/``uda``/``pck-bbox`` results follow :func:`evaluation.report.method_scores`
    (fractions, ``per_joint``, ``mean``, ``groups``); ``coco`` returns the stats of the source's
    :func:`keypoint_benchmark` (ten for COCO, nine for CrowdPose).
    ``progress(n)`` is called after every batch with its size.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"--protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    if box not in BOXES:
        raise ValueError(f"--box must be one of {', '.join(BOXES)}, got {box!r}")
    spec = get_spec(spec)
    if protocol == "coco":
        keypoint_benchmark(source).check_spec(spec)      # before running the model over the data
    model.eval()
    none = AugmentConfig(recipe="none", warp=warp, antialias=antialias, scale_dtype=scale_dtype)
    if protocol in ("ccssl", "uda"):
        gt_codec = BearpawHeatmap(codec.input_size, codec.heatmap_size, sigma=1.0)
        target = _ProtocolTargets(gt_codec, whole_window=protocol == "uda")
        ds = TopDownDataset(source, spec, target, none, normalize)
        acc = CCSSLAccumulator(spec=spec)
        for batch in _loader(ds, batch_size, workers):
            pred = predict(model, batch["image"].to(device), codec, spec, flip)
            acc.update(pred.float().cpu(), batch["target"])
            if progress:
                progress(len(batch["index"]))
        out = acc.result()
        out["protocol"] = protocol
        return out

    ds = TopDownDataset(source, spec, codec, none, normalize)
    preds, scores, idx = [], [], []
    for batch in _loader(ds, batch_size, workers):
        hm = predict(model, batch["image"].to(device), codec, spec, flip)
        kp, sc = codec.decode(hm.float().cpu())
        preds.append(affine_points(kp, invert_affine(batch["matrix"].numpy())))
        scores.append(sc)
        idx.extend(int(i) for i in batch["index"])
        if progress:
            progress(len(batch["index"]))
    preds, scores = np.concatenate(preds), np.concatenate(scores)
    anns = [source.annotation(i) for i in idx]
    if protocol == "pck-bbox":
        gt = np.stack([ds.keypoints_of(a) for a in anns])
        return pck_bbox(preds, gt, np.stack([a.bbox for a in anns]) if box == "annotation" else None, alpha)
    return _coco(source, anns, preds, scores, spec)


def pck_bbox(preds, gt, boxes, alpha: float) -> Dict:
    """The ``pck-bbox`` result: PCK@alpha of ``preds (N, K, 2)`` against ``gt (N, K, 3)`` (``v > 0``
    scored), normalised by the longer side of each ``x1, y1, x2, y2`` box ``(N, 4)`` (the
    :class:`~datasets.sample.PoseSample` convention) or, with ``boxes=None``, of the tight box of
    the visible ground-truth joints (one definition for every dataset); with the curve over
    alpha 0-0.5, its AUC and the EPE."""
    gt = np.asarray(gt, np.float64)
    vis = gt[..., 2] > 0
    if boxes is None:
        norm = bbox_max_side(keypoint_bbox(gt[..., :2], vis))
    else:
        b = np.asarray(boxes, np.float64).reshape(-1, 4)
        norm = bbox_max_side(np.concatenate([b[:, :2], b[:, 2:] - b[:, :2]], 1))   # x1 y1 x2 y2 -> x y w h
    out = pck(preds, gt[..., :2], vis, norm, alpha)
    alphas = np.linspace(0, 0.5, 51)
    curve = pck_curve(preds, gt[..., :2], vis, norm, alphas)
    out.update({"protocol": "pck-bbox", "auc": curve_auc(alphas, curve["pck"]), "epe": epe(preds, gt[..., :2], vis),
                "curve": {"alphas": alphas, "pck": curve["pck"]}})
    return out


def _coco(source, anns, preds, scores, spec) -> Dict:
    """COCO-protocol stats of top-down predictions: HRNet rescoring, OKS-NMS per image, scored
    against the source's ground truth (:func:`datasets.coco_gt.coco_ground_truth`) on every image
    of the source, or on the images of the evaluated instances when the source is ``limit``-ed."""
    from datasets.coco_gt import coco_ground_truth
    spec = get_spec(spec)
    if spec.sigmas is None:
        raise ValueError(f"--protocol coco: spec {spec.name} has no OKS sigmas; give them in a spec file "
                         "(sigmas: ...) or use --protocol pck-bbox")
    gt, ids = coco_ground_truth(source, spec)
    cat_ids = {c["id"] for c in gt["categories"]}
    first_cat = min(cat_ids, key=str)
    box_scores = np.array([a.extra.get("score", 1.0) for a in anns], np.float64)
    final = rescore(scores, box_scores, thr=0.2)
    areas = np.array([np.prod(a.scale * 200.0) for a in anns])
    kpts = np.concatenate([preds, scores[..., None]], axis=-1)
    image_ids = np.array([ids[a.image_id] for a in anns])
    cats = [a.extra.get("category_id") if a.extra.get("category_id") in cat_ids else first_cat for a in anns]
    keep = []
    for img in np.unique(image_ids):
        sel = np.nonzero(image_ids == img)[0]
        kept = oks_nms(kpts[sel], final[sel], areas[sel], thr=0.9, sigmas=spec)
        keep.extend(sel[kept].tolist())
    keep = sorted(keep)
    results = coco_results(image_ids[keep].tolist(), kpts[keep], final[keep])
    for r, k in zip(results, keep):
        r["category_id"] = cats[k]
    scored = sorted(set(image_ids.tolist())) if unwrap_source(source) is not source else None
    stats = keypoint_benchmark(source).score(gt, results, spec, image_ids=scored)
    return {"protocol": "coco", "stats": dict(stats), "AP": stats["AP"], "results": results}


def primary_metric(result: Dict, protocol: str) -> float:
    """The single number a run is selected by (mean PCK or AP)."""
    return float(result[PRIMARY[protocol]])
