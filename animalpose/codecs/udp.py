"""UDP (Huang et al., "The Devil is in the Details: Unbiased Data Processing").

Coordinates use the ``(size - 1)`` convention: ``x_hm = x_in * (W_hm - 1) /
(W_in - 1)`` (e.g. 47/191 and 63/255), and back.

``target="gaussian"``: the window centre is ``mu = int(x_hm + 0.5)`` as in
MSRA but the Gaussian inside it is centred on the float ``x_hm``.  Decode:
integer argmax (score = raw max), then on the map blurred by
``cv2.GaussianBlur((k, k), 0)`` (OpenCV's default reflect-101 border, k = 7 as
the original code; mmpose uses 11), min-max rescaled to the raw max, clipped to
``[0.001, 50]``, logged and edge-padded, one Newton step with unscaled
differences.

``target="combined"`` (UDP "offset"): per joint 3 channels ``[class, x-offset,
y-offset]`` (``(N, 3K, H, W)``): a binary disk of radius ``r = radius_factor *
max(W, H)`` (3.5 px on 48x64) and offsets ``(mu - grid) / r``, written over
the whole map as mmpose does (the original writes them inside the disk only;
its loss masks them by the disk, so training is the same).  Decode: blur the
class map (k = 15) and the offsets (k = 7), argmax of the blurred class map
(its max is the score) plus ``r *`` offset there.

Flip test: no shift; the combined flip also negates the x-offset channels.
"""
from __future__ import annotations

from typing import Tuple

import numpy as np

from ..transforms.flip import flip_back as _flip_back
from .base import Codec, visibility_weights
from .gaussian import window_bounds, window_gaussians
from .refine import blur_patches, gather_patches, gaussian_blur, get_max_preds, udp_newton

__all__ = ["UDPHeatmap"]

_TARGETS = ("gaussian", "combined")


class UDPHeatmap(Codec):
    """UDP codec; defaults: 192x256 input, 48x64 maps, sigma 2, Gaussian target.

    Args:
        target: ``"gaussian"`` or ``"combined"``.
        blur_kernel_size: decode blur of the Gaussian target (7; mmpose 11).
        radius_factor: combined target disk radius / the heatmap height ``H`` (UDP's
            ``factor * heatmap_size[1]``).
        combined_offmap_weight: target weight of a visible joint whose disk lies off the
            heatmap: ``"visibility"`` (UDP: the weight stays, so the class map learns zero
            there) or ``"zero"`` (the kit's earlier choice, such a joint is not trained).
        cls_blur_kernel_size, offset_blur_kernel_size: combined decode blurs (15, 7).
        newton_eps: added to the Hessian diagonal (0; mmpose float32 eps).
    """

    name = "udp"

    def __init__(self, input_size=(192, 256), heatmap_size=(48, 64), sigma: float = 2.0, target: str = "gaussian",
                 blur_kernel_size: int = 7, radius_factor: float = 0.0546875, cls_blur_kernel_size: int = 15,
                 offset_blur_kernel_size: int = 7, newton_eps: float = 0.0,
                 combined_offmap_weight: str = "visibility", **kw):
        super().__init__(input_size, heatmap_size, sigma, **kw)
        if target not in _TARGETS:
            raise ValueError(f"target must be one of {_TARGETS}, got {target!r}")
        for name, k in (("blur_kernel_size", blur_kernel_size), ("cls_blur_kernel_size", cls_blur_kernel_size),
                        ("offset_blur_kernel_size", offset_blur_kernel_size)):
            if k < 1 or k % 2 == 0:
                raise ValueError(f"{name} must be a positive odd integer, got {k!r}")
        if not radius_factor > 0:
            raise ValueError(f"radius_factor must be > 0, got {radius_factor!r}")
        if combined_offmap_weight not in ("visibility", "zero"):
            raise ValueError(f"combined_offmap_weight must be visibility or zero, got {combined_offmap_weight!r}")
        self.combined_offmap_weight = combined_offmap_weight
        self.target = target
        self.channels_per_joint = 3 if target == "combined" else 1
        self.blur_kernel_size = int(blur_kernel_size)
        self.radius_factor = float(radius_factor)
        self.cls_blur_kernel_size = int(cls_blur_kernel_size)
        self.offset_blur_kernel_size = int(offset_blur_kernel_size)
        self.newton_eps = float(newton_eps)

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f", target={self.target!r})"

    @property
    def scale_factor(self) -> np.ndarray:
        """``(input - 1) / (heatmap - 1)`` per axis."""
        return (np.asarray(self.input_size, np.float64) - 1) / (np.asarray(self.heatmap_size, np.float64) - 1)

    @property
    def radius(self) -> float:
        """Disk radius of the combined target, heatmap px (``radius_factor * H``, as UDP)."""
        return self.radius_factor * self.heatmap_size[1]

    # ---------------------------------------------------------------- encode
    def encode_hm(self, keypoints: np.ndarray, visibility: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        if self.target == "combined":
            return self._encode_combined(keypoints, visibility)
        mu = np.trunc(keypoints + 0.5)
        _, _, inside = window_bounds(mu, self.sigma, self.heatmap_size)
        weights = visibility_weights(visibility, inside)
        heatmaps, _ = window_gaussians(mu, self.sigma, self.heatmap_size, weights > 0.5, subpixel=keypoints - mu,
                                        dtype=np.float32)   # UDP's float32 arange
        return heatmaps, weights

    def _encode_combined(self, keypoints: np.ndarray, visibility: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        w, h = self.heatmap_size
        n, k = keypoints.shape[:2]
        xo = (keypoints[..., 0, None] - np.arange(w)) / self.radius          # (N, K, W)
        yo = (keypoints[..., 1, None] - np.arange(h)) / self.radius          # (N, K, H)
        disk = xo[..., None, :] ** 2 + yo[..., :, None] ** 2 <= 1            # (N, K, H, W)
        on_map = disk.any(axis=(2, 3)) if self.combined_offmap_weight == "zero" else np.ones((n, k), bool)
        weights = visibility_weights(visibility, on_map)
        draw = disk & (weights > 0.5)[..., None, None]                       # UDP: class and offsets in the disk
        out = np.zeros((n, k, 3, h, w), np.float32)
        out[:, :, 0] = draw
        out[:, :, 1] = np.where(draw, xo[..., None, :], 0.0)
        out[:, :, 2] = np.where(draw, yo[..., :, None], 0.0)
        return out.reshape(n, 3 * k, h, w), weights

    # ---------------------------------------------------------------- decode
    def _decode_hm(self, heatmaps: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        if self.target == "combined":
            return self._decode_combined(heatmaps)
        coords, maxvals = get_max_preds(heatmaps)
        blurred = gaussian_blur(heatmaps, self.blur_kernel_size, "reflect")
        lo = blurred.min(axis=(2, 3), keepdims=True)
        span = blurred.max(axis=(2, 3), keepdims=True) - lo
        scaled = (blurred - lo) / np.where(span > 0, span, 1) * heatmaps.max(axis=(2, 3), keepdims=True)
        logm = np.log(np.clip(scaled, 0.001, 50.0))
        px, py = coords[..., 0].astype(np.int64), coords[..., 1].astype(np.int64)
        offset = udp_newton(gather_patches(logm, px, py, 1, "edge"), self.newton_eps)
        return coords + offset, maxvals

    def _decode_combined(self, heatmaps: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        n, c, h, w = heatmaps.shape
        maps = heatmaps.reshape(n, c // 3, 3, h, w)
        cls = gaussian_blur(maps[:, :, 0], self.cls_blur_kernel_size, "reflect")
        coords, maxvals = get_max_preds(cls)
        px, py = coords[..., 0].astype(np.int64), coords[..., 1].astype(np.int64)
        offsets = [blur_patches(np.ascontiguousarray(maps[:, :, i]), px, py, self.offset_blur_kernel_size, 0,
                                "reflect")[..., 0, 0] for i in (1, 2)]
        return coords + self.radius * np.stack(offsets, axis=-1), maxvals

    # ---------------------------------------------------------------- flip
    def flip_back(self, flipped_output, spec):
        """Un-flip as :meth:`Codec.flip_back`; the combined target also swaps
        joint triplets and negates the x-offset channels."""
        if self.target != "combined":
            return super().flip_back(flipped_output, spec)
        n, c, h, w = flipped_output.shape
        if c % 3:
            raise ValueError(f"flipped_output must have 3*K channels for the combined target, got {c}")
        out = _flip_back(flipped_output.reshape(n, c // 3, 3 * h, w), spec, shift=self.shift_heatmap)
        out = out.reshape(n, c, h, w)
        out[:, 1::3] *= -1
        return out
