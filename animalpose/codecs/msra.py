"""MSRA heatmaps of SimpleBaseline / HRNet (the "standard" codec).

Encode: the centre is quantised, ``mu = int(x / stride + 0.5)`` with
``stride = input / heatmap``; a ``(6σ+1)²`` peak-1 Gaussian is pasted into
the window ``[mu - 3σ, mu + 3σ]``, computed in float32 as HRNet's
``np.arange(0, size, 1, np.float32)`` patch (bit for bit; float64 differs by 1 ulp in most cells).  Weight = visibility clipped to 1, zero
when the window is off the map (``ul >= size or br < 0``); nothing is drawn
where the weight is ``<= 0.5``.

Decode: integer argmax (``(0, 0)`` where the max is ``<= 0``), then a quarter
pixel toward the higher neighbour where ``1 < px < W-1 and 1 < py < H-1``;
score = max value.  Flip test shifts the un-flipped maps one pixel right.
"""
from __future__ import annotations

from typing import Tuple

import numpy as np

from .base import Codec, visibility_weights
from .gaussian import window_gaussians
from .refine import get_max_preds, quarter_offset

__all__ = ["MSRAHeatmap"]


class MSRAHeatmap(Codec):
    """HRNet/SimpleBaseline codec; defaults: 192x256 input, 48x64 maps, sigma 2."""

    name = "msra"
    default_shift = True

    def __init__(self, input_size=(192, 256), heatmap_size=(48, 64), sigma: float = 2.0, **kw):
        super().__init__(input_size, heatmap_size, sigma, **kw)

    def encode_hm(self, keypoints: np.ndarray, visibility: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        mu = np.trunc(keypoints + 0.5)
        vis = np.clip(visibility, 0.0, 1.0)
        # drawn where weight = vis * inside > 0.5; window_gaussians applies `inside` itself
        heatmaps, inside = window_gaussians(mu, self.sigma, self.heatmap_size, vis > 0.5, dtype=np.float32)
        return heatmaps, visibility_weights(vis, inside)

    def _decode_hm(self, heatmaps: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        coords, maxvals = get_max_preds(heatmaps)
        return quarter_offset(heatmaps, coords, margin=1), maxvals
