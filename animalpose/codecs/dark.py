"""DARK (Zhang et al., "Distribution-Aware Coordinate Representation", DarkPose).

Coordinates: DarkPose warps the input crop and the heatmap from the same box
with its unbiased ``(w - 1)`` affine, so input -> heatmap is ``x_hm = x_in * s``,
``y_hm = (y_in - (H_in - 1)/2) * s + (H_hm - 1)/2`` with the single factor
``s = (W_hm - 1) / (W_in - 1)`` (the reference fixes the aspect ratio by the
width).  A mirror ``x -> W_in - 1 - x`` is then exactly the heatmap mirror
``x_hm -> W_hm - 1 - x_hm``, which is why DARK's flip test needs no shift.

Encode: keypoints go to heatmap space without rounding and the Gaussian is
evaluated over the **whole** map at the float centre.  The weight uses MSRA's
window test on ``int(mu -+ 3σ)`` (truncated float centre).

Decode: integer argmax of the raw map (its max is the score), then on
``log(max(blur(h) * max(h) / max(blur(h)), 1e-10))`` one second-order Taylor
step around the argmax where ``1 < px < W-2 and 1 < py < H-2``.  ``blur`` is
``cv2.GaussianBlur((k, k), 0)`` (``σ = 0.3((k-1)/2 - 1) + 0.8``, k = 11 by
default) of the map padded with ``(k-1)/2`` zeros.  Flip test: no shift.

:meth:`DarkHeatmap.encode_hm` / ``decode_hm`` work in heatmap coordinates
directly (DarkPose's ``trans_heatmap`` output).
"""
from __future__ import annotations

from typing import Tuple

import numpy as np

from .base import Codec, visibility_weights
from .gaussian import full_gaussians, window_bounds
from .refine import blur_patches, dark_taylor, gaussian_blur, get_max_preds

__all__ = ["DarkHeatmap"]

_LOG_FLOOR = 1e-10


class DarkHeatmap(Codec):
    """DARK codec; defaults: 192x256 input, 48x64 maps, sigma 2, blur kernel 11."""

    name = "dark"

    def __init__(self, input_size=(192, 256), heatmap_size=(48, 64), sigma: float = 2.0,
                 blur_kernel_size: int = 11, **kw):
        super().__init__(input_size, heatmap_size, sigma, **kw)
        if blur_kernel_size < 1 or blur_kernel_size % 2 == 0:
            raise ValueError(f"blur_kernel_size must be a positive odd integer, got {blur_kernel_size!r}")
        self.blur_kernel_size = int(blur_kernel_size)

    @property
    def scale_factor(self) -> np.ndarray:
        """Input px per heatmap px, ``(W_in - 1) / (W_hm - 1)`` on both axes."""
        return np.full(2, (self.input_size[0] - 1.0) / (self.heatmap_size[0] - 1.0))

    def _centres(self):
        return (np.asarray(self.input_size, np.float64) - 1) / 2, (np.asarray(self.heatmap_size, np.float64) - 1) / 2

    def to_heatmap(self, xy: np.ndarray) -> np.ndarray:
        c_in, c_hm = self._centres()
        return (np.asarray(xy, np.float64) - c_in) / self.scale_factor + c_hm

    def to_input(self, xy: np.ndarray) -> np.ndarray:
        c_in, c_hm = self._centres()
        return (np.asarray(xy, np.float64) - c_hm) * self.scale_factor + c_in

    def encode_hm(self, keypoints: np.ndarray, visibility: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        _, _, inside = window_bounds(keypoints, self.sigma, self.heatmap_size)
        weights = visibility_weights(visibility, inside)
        return full_gaussians(keypoints, self.sigma, self.heatmap_size, weights > 0.5), weights

    def modulate(self, heatmaps) -> np.ndarray:
        """The whole log map the Taylor step reads, ``(N, K, H, W)`` float32:
        zero-padded blur, rescaled to the raw max, ``log(max(., 1e-10))``."""
        hm = self._check_heatmaps(heatmaps)
        blurred = gaussian_blur(hm, self.blur_kernel_size, "constant")
        with np.errstate(divide="ignore", invalid="ignore"):
            blurred *= hm.max(axis=(2, 3), keepdims=True) / blurred.max(axis=(2, 3), keepdims=True)
        return np.log(np.maximum(blurred, _LOG_FLOOR))

    def _decode_hm(self, heatmaps: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        _, _, h, w = heatmaps.shape
        coords, maxvals = get_max_preds(heatmaps)
        px, py = coords[..., 0].astype(np.int64), coords[..., 1].astype(np.int64)
        ok = (px > 1) & (px < w - 2) & (py > 1) & (py < h - 2)
        # Blur only the 5x5 neighbourhood the stencils read.  The rescale factor
        # c = max(h) / max(blur(h)) is >= 1 when max(h) > 0 (a normalised positive
        # kernel cannot raise the max), and log(c * b) - log(c * b') = log b - log b',
        # so c drops out of every stencil unless the 1e-10 floor bites; only those
        # maps need the whole-map blur for c.
        b = blur_patches(heatmaps, px, py, self.blur_kernel_size, 2, "constant")
        need_c = ok & (b <= 2 * _LOG_FLOOR).any(axis=(-2, -1))
        if need_c.any():
            full = gaussian_blur(heatmaps[need_c][None], self.blur_kernel_size, "constant")[0]
            with np.errstate(divide="ignore", invalid="ignore"):
                c = maxvals[need_c] / full.max(axis=(1, 2))
            b[need_c] *= c[:, None, None]
        with np.errstate(invalid="ignore"):
            logp = np.log(np.maximum(b, _LOG_FLOOR))
        offset = dark_taylor(logp)
        coords = np.where(ok[..., None], coords + offset, coords)
        return coords, maxvals
