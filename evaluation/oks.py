"""Object keypoint similarity, OKS-NMS and top-down rescoring.

* :func:`oks_matrix` / :func:`oks` are pycocotools ``COCOeval.computeOks``,
  vectorised: ``vars = (2 sigma)^2``, ``e = d^2 / vars / (area + eps) / 2``,
  OKS = mean of ``exp(-e)`` over the GT's labelled joints (``v > 0``).  A GT
  without labelled joints measures each detected joint's distance to the GT
  box doubled on every side (``[x - w, x + 2w] x [y - h, y + 2h]``) and averages
  over all joints.
* :func:`oks_iou`, :func:`oks_nms`, :func:`soft_oks_nms` follow HRNet's
  ``lib/nms/nms.py``: the area is the mean of the two candidates' areas, and
  the optional visibility threshold keeps the joints where the *other*
  candidate's score exceeds it (the reference's ``list(a) and list(b)``
  evaluates to ``list(b)``).
* :func:`rescore` is the HRNet / mmpose ``bbox_keypoint`` score: mean of the
  keypoint scores above ``thr`` (0 when none is) times the box score.

``sigmas`` is a ``(K,)`` array, a ``KeypointSpec`` or a spec name; ``None``
means the 17 COCO sigmas.
"""
from __future__ import annotations

from typing import List, Optional

import numpy as np

__all__ = ["resolve_sigmas", "oks_matrix", "oks", "oks_iou", "oks_nms", "soft_oks_nms", "rescore"]

_EPS = np.spacing(1)


def resolve_sigmas(sigmas=None) -> np.ndarray:
    """``(K,)`` float64 sigmas from an array, a spec / spec name, or None (COCO 17)."""
    from animalpose.keypoints import KeypointSpec, get_spec
    if sigmas is None:
        return get_spec("coco17").sigmas_array
    if isinstance(sigmas, (str, KeypointSpec)):
        return get_spec(sigmas).sigmas_array
    return np.asarray(sigmas, dtype=np.float64).reshape(-1)


def _kp(x, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim < 2 or a.shape[-1] not in (2, 3):
        raise ValueError(f"{name}: expected (..., K, 2 or 3) keypoints, got {a.shape}")
    return a


def oks_matrix(gts, dts, areas, sigmas=None, bboxes=None) -> np.ndarray:
    """``(M, G)`` OKS of ``M`` detections against ``G`` ground truths (``computeOks``).

    Args:
        gts: ``(G, K, 3)`` GT keypoints ``x, y, v``.
        dts: ``(M, K, 2 or 3)`` detected keypoints (a third column is ignored).
        areas: ``(G,)`` GT areas (the annotation's ``area``).
        sigmas: see module docstring.
        bboxes: ``(G, 4)`` GT boxes ``x, y, w, h``; needed only for GTs with no
            labelled joint.
    """
    g = _kp(gts, "gts").reshape(-1, *np.shape(gts)[-2:])
    d = _kp(dts, "dts").reshape(-1, *np.shape(dts)[-2:])
    if g.shape[-1] != 3:
        raise ValueError(f"gts must be (G, K, 3) with visibility, got {g.shape}")
    s = resolve_sigmas(sigmas)
    k = s.shape[0]
    if g.shape[1] != k or d.shape[1] != k:
        raise ValueError(f"{k} sigmas but gts have {g.shape[1]} and dts {d.shape[1]} joints")
    area = np.asarray(areas, dtype=np.float64).reshape(-1)
    if area.shape[0] != g.shape[0]:
        raise ValueError(f"{area.shape[0]} areas for {g.shape[0]} ground truths")
    var = (s * 2) ** 2
    lab = g[:, :, 2] > 0                                  # (G, K)
    k1 = lab.sum(axis=1)                                  # (G,)
    xd, yd = d[:, None, :, 0], d[:, None, :, 1]           # (M, 1, K)
    dx = xd - g[None, :, :, 0]
    dy = yd - g[None, :, :, 1]
    if (k1 == 0).any():
        if bboxes is None:
            raise ValueError("a ground truth has no labelled keypoint: pass bboxes (x, y, w, h) "
                             "for the ignore-box distance")
        bb = np.asarray(bboxes, dtype=np.float64).reshape(-1, 4)[None, :, None, :]   # (1, G, 1, 4)
        x0, x1 = bb[..., 0] - bb[..., 2], bb[..., 0] + bb[..., 2] * 2
        y0, y1 = bb[..., 1] - bb[..., 3], bb[..., 1] + bb[..., 3] * 2
        bdx = np.maximum(0, x0 - xd) + np.maximum(0, xd - x1)
        bdy = np.maximum(0, y0 - yd) + np.maximum(0, yd - y1)
        none = (k1 == 0)[None, :, None]
        dx, dy = np.where(none, bdx, dx), np.where(none, bdy, dy)
    e = (dx ** 2 + dy ** 2) / var / (area[None, :, None] + _EPS) / 2
    use = np.where(k1[:, None] > 0, lab, True)[None]      # (1, G, K)
    return (np.exp(-e) * use).sum(axis=-1) / use.sum(axis=-1)


def oks(gt, dts, area: float, sigmas=None, bbox=None):
    """OKS of ``(M, K, 2|3)`` detections with one ``(K, 3)`` GT -> ``(M,)``; one ``(K, 2|3)`` -> float.

    ``bbox`` (``x, y, w, h``) is needed only when the GT has no labelled joint.
    """
    d = np.asarray(dts, dtype=np.float64)
    single = d.ndim == 2
    res = oks_matrix(np.asarray(gt)[None], d[None] if single else d, [area], sigmas,
                     None if bbox is None else [bbox])[:, 0]
    return float(res[0]) if single else res


def oks_iou(g, d, a_g: float, a_d, sigmas=None, in_vis_thre: Optional[float] = None) -> np.ndarray:
    """``(M,)`` OKS of one ``(K, 3)`` pose ``g`` with ``(M, K, 3)`` poses ``d`` (HRNet ``oks_iou``).

    ``area = (a_g + a_d) / 2``; with ``in_vis_thre`` only joints of ``d`` with
    score ``> in_vis_thre`` count (0 when none does).
    """
    gg = _kp(g, "g").reshape(-1, 3)
    dd = _kp(d, "d").reshape(-1, gg.shape[0], 3)
    s = resolve_sigmas(sigmas)
    var = (s * 2) ** 2
    ad = np.asarray(a_d, dtype=np.float64).reshape(-1)
    dist2 = (dd[:, :, 0] - gg[None, :, 0]) ** 2 + (dd[:, :, 1] - gg[None, :, 1]) ** 2
    e = dist2 / var / ((a_g + ad[:, None]) / 2 + _EPS) / 2
    use = np.ones_like(e, dtype=bool) if in_vis_thre is None else dd[:, :, 2] > in_vis_thre
    n = use.sum(axis=1)
    return np.where(n > 0, (np.exp(-e) * use).sum(axis=1) / np.maximum(n, 1), 0.0)


def _order(scores: np.ndarray) -> np.ndarray:
    # reference: scores.argsort()[::-1] (ties: later index first); stable sort makes it deterministic
    return np.argsort(scores, kind="stable")[::-1]


def _pairwise(kpts: np.ndarray, areas: np.ndarray, sigmas, in_vis_thre) -> np.ndarray:
    """``(M, M)`` matrix ``O[i, j] = oks_iou(kpts[i], kpts[j:j+1], areas[i], areas[j])``."""
    s = resolve_sigmas(sigmas)
    var = (s * 2) ** 2
    d2 = ((kpts[:, None, :, :2] - kpts[None, :, :, :2]) ** 2).sum(-1)            # (M, M, K)
    e = d2 / var / ((areas[:, None, None] + areas[None, :, None]) / 2 + _EPS) / 2
    use = np.ones_like(e, dtype=bool) if in_vis_thre is None else \
        np.broadcast_to(kpts[None, :, :, 2] > in_vis_thre, e.shape)
    n = use.sum(-1)
    return np.where(n > 0, (np.exp(-e) * use).sum(-1) / np.maximum(n, 1), 0.0)


def _inputs(kpts, scores, areas):
    k = _kp(kpts, "kpts")
    if k.ndim != 3 or k.shape[-1] != 3:
        raise ValueError(f"kpts must be (M, K, 3) with keypoint scores, got {k.shape}")
    sc = np.asarray(scores, dtype=np.float64).reshape(-1)
    ar = np.asarray(areas, dtype=np.float64).reshape(-1)
    if not (k.shape[0] == sc.shape[0] == ar.shape[0]):
        raise ValueError(f"{k.shape[0]} poses, {sc.shape[0]} scores, {ar.shape[0]} areas")
    return k, sc, ar


def oks_nms(kpts, scores, areas, thr: float = 0.9, sigmas=None, in_vis_thre: Optional[float] = None) -> List[int]:
    """Greedy OKS-NMS: indices kept, best first; a pose is dropped when its OKS with a kept one is ``> thr``.

    Args: ``kpts (M, K, 3)``, ``scores (M,)``, ``areas (M,)`` (box areas,
    ``(s*200)_w * (s*200)_h`` in HRNet).
    """
    k, sc, ar = _inputs(kpts, scores, areas)
    if k.shape[0] == 0:
        return []
    ovr = _pairwise(k, ar, sigmas, in_vis_thre)
    order = _order(sc)
    keep = []
    while order.size > 0:
        i = order[0]
        keep.append(int(i))
        rest = order[1:]
        order = rest[ovr[i, rest] <= thr]
    return keep


def soft_oks_nms(kpts, scores, areas, thr: float = 0.9, sigmas=None, in_vis_thre: Optional[float] = None,
                 max_dets: int = 20, method: str = "gaussian") -> List[int]:
    """Soft OKS-NMS (HRNet): decay the others' scores after each pick, keep at most ``max_dets``.

    ``gaussian``: ``s *= exp(-oks^2 / thr)``; ``linear``: ``s *= 1 - oks`` where ``oks >= thr``.
    Returns indices in pick order.
    """
    if method not in ("gaussian", "linear"):
        raise ValueError(f"soft_oks_nms: method must be 'gaussian' or 'linear', got {method!r}")
    k, sc, ar = _inputs(kpts, scores, areas)
    if k.shape[0] == 0:
        return []
    ovr = _pairwise(k, ar, sigmas, in_vis_thre)
    order = _order(sc)
    cur = sc[order]
    keep = []
    while order.size > 0 and len(keep) < max_dets:
        i = order[0]
        keep.append(int(i))
        o = ovr[i, order[1:]]
        order, cur = order[1:], cur[1:]
        if method == "linear":
            cur = np.where(o >= thr, cur * (1 - o), cur)
        else:
            cur = cur * np.exp(-o ** 2 / thr)
        srt = _order(cur)
        order, cur = order[srt], cur[srt]
    return keep


def rescore(kpt_scores, box_scores, thr: float = 0.2) -> np.ndarray:
    """``(M,)`` final scores: mean of ``(M, K)`` keypoint scores ``> thr`` (0 if none) times ``(M,)`` box scores."""
    ks = np.asarray(kpt_scores, dtype=np.float64)
    bs = np.asarray(box_scores, dtype=np.float64).reshape(-1)
    if ks.ndim != 2 or ks.shape[0] != bs.shape[0]:
        raise ValueError(f"kpt_scores {ks.shape} must be (M, K) with M = {bs.shape[0]} box scores")
    above = ks > thr
    n = above.sum(axis=1)
    mean = np.where(n > 0, (ks * above).sum(axis=1) / np.maximum(n, 1), 0.0)
    return mean * bs
