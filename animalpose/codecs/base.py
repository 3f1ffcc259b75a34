"""The codec interface: keypoints <-> heatmaps, plus the codec's flip test.

A codec turns ``(N, K, 2|3)`` keypoints in **input-image pixels** (the network
input crop, 0-based pixel centres) into ``(N, K, H, W)`` training targets and
back.  Each codec fixes its own heatmap-coordinate convention
(:meth:`Codec.to_heatmap`): the stride ``input / heatmap`` for MSRA, DARK and
bearpaw, ``(input - 1) / (heatmap - 1)`` for UDP.  ``encode_hm`` /
``decode_hm`` work directly in heatmap pixels (for pipelines that warp
keypoints straight into heatmap space, or map heatmap coordinates back to the
source image with :func:`animalpose.transforms.transform_preds`).
"""
from __future__ import annotations

import abc
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from ..arrays import as_numpy  # noqa: F401 (re-exported)
from ..transforms.flip import flip_back as _flip_back

__all__ = ["Codec", "as_numpy", "visibility_weights"]


def _size(v, name: str) -> Tuple[int, int]:
    try:
        w, h = (int(s) for s in v)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a (w, h) pair of integers, got {v!r}") from None
    if w < 2 or h < 2 or (w, h) != tuple(v):
        raise ValueError(f"{name} must be a (w, h) pair of integers >= 2, got {v!r}")
    return w, h


class Codec(abc.ABC):
    """Base class of the heatmap codecs.

    Args:
        input_size: network input ``(w, h)``.
        heatmap_size: heatmap ``(w, h)``.
        sigma: Gaussian sigma in heatmap pixels.
        shift_heatmap: flip test shifts un-flipped maps one pixel right
            (default: the codec's own convention, :attr:`default_shift`).
        joint_weights: optional ``(K,)`` factors multiplied into the target
            weights (HRNet ``USE_DIFFERENT_JOINTS_WEIGHT``).
    """

    name = "base"
    channels_per_joint = 1       # heatmap channels per joint (3 for UDP combined)
    default_shift = False        # flip-test one-pixel shift (HRNet SHIFT_HEATMAP)
    flip_reduce = "mean"         # how flip_test merges the two predictions: "mean" or "sum"

    def __init__(self, input_size: Sequence[int], heatmap_size: Sequence[int], sigma: float,
                 shift_heatmap: Optional[bool] = None, joint_weights: Optional[Sequence[float]] = None):
        self.input_size = _size(input_size, "input_size")
        self.heatmap_size = _size(heatmap_size, "heatmap_size")
        if not float(sigma) > 0:
            raise ValueError(f"sigma must be > 0, got {sigma!r}")
        self.sigma = float(sigma)
        self.shift_heatmap = self.default_shift if shift_heatmap is None else bool(shift_heatmap)
        self.joint_weights = None if joint_weights is None else np.asarray(joint_weights, np.float32)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(input_size={self.input_size}, heatmap_size={self.heatmap_size}, "
                f"sigma={self.sigma:g})")

    # ---------------------------------------------------------------- coordinates
    @property
    def scale_factor(self) -> np.ndarray:
        """Input pixels per heatmap pixel ``(sx, sy)``: ``input / heatmap``."""
        return np.asarray(self.input_size, np.float64) / np.asarray(self.heatmap_size, np.float64)

    def to_heatmap(self, xy: np.ndarray) -> np.ndarray:
        """``(..., 2)`` input pixels -> heatmap pixels (float64)."""
        return np.asarray(xy, np.float64) / self.scale_factor

    def to_input(self, xy: np.ndarray) -> np.ndarray:
        """``(..., 2)`` heatmap pixels -> input pixels (float64)."""
        return np.asarray(xy, np.float64) * self.scale_factor

    # ---------------------------------------------------------------- encode
    def encode(self, keypoints, visibility=None, **kw) -> Dict[str, np.ndarray]:
        """Training targets of ``keypoints (N, K, 2|3)`` in input pixels.

        ``visibility (N, K)`` defaults to the third keypoint column (or ones).
        Returns ``{"heatmaps": (N, K * channels_per_joint, H, W) float32,
        "weights": (N, K) float32}``.
        """
        kp, vis = self._check_keypoints(keypoints, visibility)
        heatmaps, weights = self.encode_hm(self.to_heatmap(kp), vis, **kw)
        if self.joint_weights is not None:
            if self.joint_weights.shape != (kp.shape[1],):
                raise ValueError(f"joint_weights has shape {self.joint_weights.shape}, expected ({kp.shape[1]},)")
            weights = weights * self.joint_weights
        return {"heatmaps": heatmaps, "weights": weights.astype(np.float32)}

    @abc.abstractmethod
    def encode_hm(self, keypoints: np.ndarray, visibility: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Targets of ``(N, K, 2)`` keypoints already in heatmap pixels:
        ``heatmaps (N, K * channels_per_joint, H, W)``, ``weights (N, K)``."""

    # ---------------------------------------------------------------- decode
    def decode(self, heatmaps) -> Tuple[np.ndarray, np.ndarray]:
        """``heatmaps (N, K * channels_per_joint, H, W)`` (NumPy or torch) ->
        ``keypoints (N, K, 2)`` in input pixels (float32), ``scores (N, K)``."""
        kp, scores = self._decode_hm(self._check_heatmaps(heatmaps))
        return self.to_input(kp).astype(np.float32), scores.astype(np.float32)

    def decode_hm(self, heatmaps) -> Tuple[np.ndarray, np.ndarray]:
        """Like :meth:`decode` with keypoints in heatmap pixels."""
        kp, scores = self._decode_hm(self._check_heatmaps(heatmaps))
        return kp.astype(np.float32), scores.astype(np.float32)

    @abc.abstractmethod
    def _decode_hm(self, heatmaps: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Decode validated float32 NumPy heatmaps to heatmap-pixel keypoints and scores."""

    # ---------------------------------------------------------------- flip test
    def flip_back(self, flipped_output, spec):
        """Un-flip ``(N, C, H, W)`` maps predicted on a mirrored input (NumPy or
        torch, same type back): width reversed, left/right joints swapped, and a
        one-pixel right shift when :attr:`shift_heatmap`."""
        return _flip_back(flipped_output, spec, shift=self.shift_heatmap)

    def flip_test(self, output, flipped_output, spec):
        """Merge the prediction on the input with the one on its mirror image:
        ``(output + flip_back(flipped)) / 2`` (bearpaw sums instead)."""
        merged = output + self.flip_back(flipped_output, spec)
        return merged if self.flip_reduce == "sum" else merged * 0.5

    # ---------------------------------------------------------------- checks
    def _check_keypoints(self, keypoints, visibility) -> Tuple[np.ndarray, np.ndarray]:
        kp = as_numpy(keypoints, np.float64)
        if kp.ndim != 3 or kp.shape[2] not in (2, 3):
            raise ValueError(f"keypoints must have shape (N, K, 2) or (N, K, 3), got {kp.shape}")
        if visibility is None:
            vis = kp[..., 2] if kp.shape[2] == 3 else np.ones(kp.shape[:2])
        else:
            vis = as_numpy(visibility, np.float64)
            if vis.shape != kp.shape[:2]:
                raise ValueError(f"visibility must have shape {kp.shape[:2]} (N, K), got {vis.shape}")
        return kp[..., :2], vis

    def _check_heatmaps(self, heatmaps) -> np.ndarray:
        hm = as_numpy(heatmaps, np.float32)
        w, h = self.heatmap_size
        c = self.channels_per_joint
        if hm.ndim != 4 or hm.shape[2:] != (h, w) or hm.shape[1] % c:
            per = "K" if c == 1 else f"{c}*K"
            raise ValueError(f"heatmaps must have shape (N, {per}, {h}, {w}) for heatmap_size {self.heatmap_size}, "
                             f"got {hm.shape}")
        return hm


def visibility_weights(visibility: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Reference target weight: visibility clipped to ``[0, 1]`` (labelled-occluded
    ``v = 2`` counts as 1), zero where the window is off the map; ``(N, K)``."""
    return (np.clip(visibility, 0.0, 1.0) * inside).astype(np.float32)
