"""Antialiased affine crops (the reference CC-SSL / bearpaw crops go through scipy's
``imresize`` / ``imrotate``, i.e. PIL bilinear, which low-pass filters when it shrinks;
``cv2.warpAffine`` samples 4 pixels per output pixel whatever the zoom and aliases).

:func:`warp_antialiased` shrinks the image first with PIL's antialiased bilinear resize
to the crop's zoom, then applies the remaining affine map with ``cv2.warpAffine``.  At
zoom >= 1 it is exactly ``cv2.warpAffine``.
"""
from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np


def zoom_of(matrix: np.ndarray) -> float:
    """Linear zoom of a ``2x3`` map (output px per source px): ``sqrt(|det A|)``."""
    a = np.asarray(matrix, np.float64)[:, :2]
    return float(np.sqrt(abs(np.linalg.det(a))))


def warp_antialiased(image: np.ndarray, matrix: np.ndarray, output_size: Sequence[int]) -> np.ndarray:
    """``image (H, W, C)`` uint8 cropped by ``matrix (2, 3)`` (source -> output px) onto
    ``output_size (w, h)``, zero border, antialiased when the map shrinks."""
    m = np.asarray(matrix, np.float64)
    size = (int(output_size[0]), int(output_size[1]))
    z = zoom_of(m)
    if z >= 1.0:
        return cv2.warpAffine(image, m, size, flags=cv2.INTER_LINEAR)
    from PIL import Image
    h, w = image.shape[:2]
    nw, nh = max(1, int(round(w * z))), max(1, int(round(h * z))),
    small = np.asarray(Image.fromarray(np.ascontiguousarray(image)).resize((nw, nh), Image.BILINEAR))
    zx, zy = nw / w, nh / h
    # pixel centres: u + 0.5 = z (x + 0.5)  =>  x = (u + 0.5) / z - 0.5
    a = np.array([[1.0 / zx, 0.0, 0.5 / zx - 0.5], [0.0, 1.0 / zy, 0.5 / zy - 0.5]])
    m2 = np.concatenate([m[:, :2] @ a[:, :2], (m[:, :2] @ a[:, 2] + m[:, 2])[:, None]], 1)
    return cv2.warpAffine(small, m2, size, flags=cv2.INTER_LINEAR)
