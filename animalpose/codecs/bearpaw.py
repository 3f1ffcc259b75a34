"""bearpaw/pytorch-pose heatmaps as CC-SSL (Learning from Synthetic Animals) uses them.

Encode: the heatmap point is the transformed keypoint cast to ``int``
(``x_hm = x_in / stride``, truncated toward zero); a 7x7 (``6σ+1``) peak-1
Gaussian (σ = 1) is pasted around it.  Weight = visibility (clipped to 1)
times "the window touches the map".  Which joints are drawn is a separate
mask: CC-SSL draws every joint with ``y > 0`` whatever its visibility, and
its PCK takes the ground truth as the argmax of these maps.

Decode (``final_preds`` at heatmap level): 1-based integer argmax
(:func:`argmax_1based`), a quarter pixel toward the higher neighbour where
``1 < px < W and 1 < py < H`` (1-based), then ``+ 0.5``.  In 0-based heatmap
pixels that is ``argmax + offset + 0.5`` (the cell centre), which
:meth:`decode` scales by the stride; the reference then truncates to integer
image pixels when it maps back to the image, which :meth:`decode` does not.
A map whose max is ``<= 0`` decodes to ``get_preds``' ``(0, 0)`` + 0.5, i.e.
-0.5 heatmap px, with its score ``<= 0``.

Flip test: bearpaw **sums** the prediction and the un-flipped prediction of the
mirrored input, without a shift (the scale doubles; argmax-based PCK does not
change).
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

from ..arrays import argmax_1based  # noqa: F401 (re-exported)
from .base import Codec, as_numpy, visibility_weights
from .gaussian import window_gaussians
from .refine import quarter_offset

__all__ = ["BearpawHeatmap", "argmax_1based"]


class BearpawHeatmap(Codec):
    """Stacked-hourglass / CC-SSL codec; defaults: 256x256 input, 64x64 maps, sigma 1."""

    name = "bearpaw"
    flip_reduce = "sum"

    def __init__(self, input_size=(256, 256), heatmap_size=(64, 64), sigma: float = 1.0, **kw):
        super().__init__(input_size, heatmap_size, sigma, **kw)

    def encode_hm(self, keypoints: np.ndarray, visibility: np.ndarray,
                  draw: Optional[np.ndarray] = None) -> Tuple[np.ndarray, np.ndarray]:
        """As :meth:`Codec.encode_hm`; ``draw (N, K)`` bool selects the joints that
        get a Gaussian (default ``visibility > 0``; CC-SSL: ``y > 0``)."""
        mu = np.trunc(keypoints)
        if draw is None:
            draw = visibility > 0
        else:
            draw = as_numpy(draw, bool)
            if draw.shape != keypoints.shape[:2]:
                raise ValueError(f"draw must have shape {keypoints.shape[:2]} (N, K), got {draw.shape}")
        heatmaps, inside = window_gaussians(mu, self.sigma, self.heatmap_size, draw)
        return heatmaps, visibility_weights(visibility, inside)

    def final_preds_1based(self, heatmaps) -> Tuple[np.ndarray, np.ndarray]:
        """Heatmap-level ``final_preds``: 1-based argmax + quarter offset + 0.5,
        ``(N, K, 2)`` float32, and the max values ``(N, K)``."""
        hm = self._check_heatmaps(heatmaps)
        coords, maxvals = argmax_1based(hm)
        # 1-based 1 < px < W  <=>  0-based 0 < px < W - 1: margin 0
        return quarter_offset(hm, coords - 1, margin=0) + 1.5, maxvals

    def _decode_hm(self, heatmaps: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        coords, maxvals = self.final_preds_1based(heatmaps)
        return coords - 1, maxvals
