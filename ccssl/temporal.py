"""Temporal consistency of CC-SSL pseudo-labels (pyramidal Lucas-Kanade).

Each frame's labels are flowed from the previous frame's *refined* labels;
a joint whose confidence is weak relative to the flowed one
(``conf / flow_conf < decay``) takes the flowed point with confidence
``flow_conf * decay``.  Flow confidence = the previous refined confidence,
0 where LK failed or moved the point more than ``max_displacement`` px.
"""
from __future__ import annotations

from typing import Sequence, Tuple

import cv2
import numpy as np

LK_PARAMS = dict(winSize=(15, 15), maxLevel=2,
                 criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 10, 0.03))


def _gray(img: np.ndarray) -> np.ndarray:
    img = np.asarray(img)
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY if img.shape[2] == 3 else cv2.COLOR_BGRA2GRAY)
    if img.dtype != np.uint8:
        img = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(img)


def lk_flow(prev_gray: np.ndarray, cur_gray: np.ndarray, points: np.ndarray,
            max_displacement: float = 15.0, **lk) -> Tuple[np.ndarray, np.ndarray]:
    """Flow ``points (K, 2)`` from ``prev_gray`` to ``cur_gray`` ``(H, W)`` uint8.

    Returns ``flowed (K, 2)`` float32 and ``ok (K,)`` bool: LK status 1 and
    displacement ``<= max_displacement``.  ``lk`` overrides :data:`LK_PARAMS`."""
    pts = np.asarray(points, np.float32).reshape(-1, 2)
    k = pts.shape[0]
    if k == 0:
        return np.zeros((0, 2), np.float32), np.zeros(0, bool)
    params = {**LK_PARAMS, **lk}
    nxt, status, _ = cv2.calcOpticalFlowPyrLK(_gray(prev_gray), _gray(cur_gray), pts.reshape(-1, 1, 2).copy(),
                                              None, **params)
    flowed = np.asarray(nxt, np.float32).reshape(k, 2)
    disp = np.linalg.norm(flowed.astype(np.float64) - pts, axis=1)
    ok = (np.asarray(status).reshape(k) == 1) & np.isfinite(disp) & (disp <= max_displacement)
    return flowed, ok


def same_shot_pairs(video_ids: Sequence, frame_ids: Sequence, respect_shots: bool = True) -> np.ndarray:
    """``prev_index (N,)`` int64, -1 = no previous frame.

    ``respect_shots``: ``i - 1`` only when in the same video and ``frame_ids[i] ==
    frame_ids[i-1] + 1``; otherwise (reference behaviour) ``i - 1`` for every ``i > 0``."""
    vids = np.asarray(video_ids)
    fids = np.asarray(frame_ids)
    n = len(vids)
    prev = np.arange(n, dtype=np.int64) - 1
    if respect_shots and n > 1:
        cont = (vids[1:] == vids[:-1]) & (fids[1:] == fids[:-1] + 1)
        prev[1:][~cont] = -1
    return prev


def temporal_refine(keypoints: np.ndarray, confidences: np.ndarray, grays: Sequence[np.ndarray],
                    prev_index: np.ndarray, decay: float = 0.9, max_displacement: float = 15.0,
                    side_effect: bool = False, **lk) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Refine ``keypoints (N, K, 2)``, ``confidences (N, K)`` with LK flow over ``grays`` (N frames,
    ``(H, W)`` uint8) from ``prev_index (N,)`` (each ``< i`` or -1).

    Sequential over frames (frame ``i`` uses the refined labels of ``prev_index[i]``), vectorised over
    joints.  ``side_effect`` reproduces the reference, whose flow confidence is a view of the stored
    labels: a joint the flow moved more than ``max_displacement`` px also gets confidence 0 in the
    *previous* frame's stored labels.  Returns refined ``keypoints``, ``confidences`` (copies,
    float64) and ``replaced (N, K)`` bool."""
    kp = np.array(keypoints, dtype=np.float64, copy=True)
    conf = np.array(confidences, dtype=np.float64, copy=True)
    prev_index = np.asarray(prev_index, np.int64).reshape(-1)
    n = kp.shape[0]
    if conf.shape != kp.shape[:2] or prev_index.shape[0] != n or len(grays) != n:
        raise ValueError("keypoints (N, K, 2), confidences (N, K), grays (N) and prev_index (N,) disagree")
    replaced = np.zeros(conf.shape, bool)
    for i in range(n):
        p = int(prev_index[i])
        if p < 0:
            continue
        if p >= i:
            raise ValueError(f"prev_index[{i}] = {p} must precede frame {i}")
        flowed, ok = lk_flow(grays[p], grays[i], kp[p], max_displacement=max_displacement, **lk)
        flow_conf = np.where(ok, conf[p], 0.0)
        if side_effect:
            moved = np.linalg.norm(flowed.astype(np.float64) - kp[p], axis=1) > max_displacement
            conf[p][moved] = 0.0
        pos = flow_conf > 0
        ratio = np.divide(conf[i], flow_conf, out=np.full_like(flow_conf, np.inf), where=pos)
        rep = pos & (ratio < decay)
        kp[i][rep] = flowed[rep]
        conf[i][rep] = flow_conf[rep] * decay
        replaced[i] = rep
    return kp, conf, replaced
