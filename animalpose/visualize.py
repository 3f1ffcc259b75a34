"""Drawing keypoints and skeletons on images (reports, previews, predictions)."""
from __future__ import annotations

from typing import Optional, Sequence

import cv2
import numpy as np

from .keypoints import get_spec


def joint_colours(spec) -> np.ndarray:
    """``(K, 3)`` uint8 RGB: left joints warm, right joints cool, centre joints green."""
    s = get_spec(spec)
    cols = np.tile(np.array([[60, 200, 60]], np.uint8), (s.num_joints, 1))
    for a, b in s.flip_pairs:
        cols[a], cols[b] = (240, 120, 30), (40, 140, 250)
    return cols


def draw_pose(image: np.ndarray, keypoints: np.ndarray, spec, radius: Optional[int] = None,
              min_v: float = 0.0, show_hidden: bool = True) -> np.ndarray:
    """Copy of ``(H, W, 3)`` RGB ``image`` with ``(K, 3)`` keypoints and the spec's skeleton.

    Joints with ``v > min_v`` are drawn filled; labelled-but-hidden ones
    (``v == 0`` with non-zero coordinates) as rings when ``show_hidden``.
    """
    s = get_spec(spec)
    img = np.ascontiguousarray(image.copy())
    h, w = img.shape[:2]
    r = radius or max(2, int(round(min(h, w) / 120)))
    kp = np.asarray(keypoints, np.float32)
    cols = joint_colours(s)
    shown = kp[:, 2] > min_v
    hidden = (~shown) & ((kp[:, 0] != 0) | (kp[:, 1] != 0)) if show_hidden else np.zeros_like(shown)
    for a, b in s.skeleton:
        if shown[a] and shown[b]:
            cv2.line(img, tuple(int(round(v)) for v in kp[a, :2]), tuple(int(round(v)) for v in kp[b, :2]),
                     (255, 255, 255), max(1, r // 2), cv2.LINE_AA)
    for k in range(s.num_joints):
        c = tuple(int(v) for v in cols[k])
        p = tuple(int(round(v)) for v in kp[k, :2])
        if shown[k]:
            cv2.circle(img, p, r, c, -1, cv2.LINE_AA)
        elif hidden[k]:
            cv2.circle(img, p, r, c, 1, cv2.LINE_AA)
    return img


def grid(images: Sequence[np.ndarray], cols: int, tile=(160, 120)) -> np.ndarray:
    """Tile images (resized to ``tile = (w, h)``) into one RGB mosaic."""
    tw, th = tile
    rows = (len(images) + cols - 1) // cols
    out = np.zeros((rows * th, cols * tw, 3), np.uint8)
    for i, im in enumerate(images):
        r, c = divmod(i, cols)
        out[r * th:(r + 1) * th, c * tw:(c + 1) * tw] = cv2.resize(im, (tw, th), interpolation=cv2.INTER_AREA)
    return out
