"""Horizontal flips of images, keypoints and heatmaps (flip test).

Keypoints follow the reference pixel-centre convention ``x' = w - x - 1`` with
left/right joints swapped (:meth:`KeypointSpec.flip_keypoints`).  Heatmaps
predicted on a flipped image are un-flipped by reversing the width axis and
swapping paired channels; HRNet/SimpleBaseline then shift them one pixel to
the right (``shift=True``), DARK and UDP do not.
"""
from __future__ import annotations

import numpy as np

from ..keypoints import get_spec


def flip_image(image: np.ndarray) -> np.ndarray:
    """Mirror an ``(H, W, ...)`` image left-right (a copy)."""
    return np.ascontiguousarray(image[:, ::-1])


def flip_keypoints(keypoints: np.ndarray, width: float, spec) -> np.ndarray:
    """``(..., K, 3)`` keypoints mirrored in an image ``width`` pixels wide, pairs swapped."""
    return get_spec(spec).flip_keypoints(keypoints, width)


def flip_back(heatmaps, spec, shift: bool = False):
    """Un-flip ``(N, K, H, W)`` heatmaps (NumPy or torch) predicted on flipped inputs.

    Reverses the width axis and swaps left/right channels; ``shift=True`` moves
    the maps one pixel right (``out[..., 1:] = out[..., :-1]``), as HRNet's flip test does.
    """
    perm = get_spec(spec).flip_index
    if isinstance(heatmaps, np.ndarray):
        out = heatmaps[:, perm, :, ::-1].copy()
    else:  # torch.Tensor
        import torch
        out = heatmaps[:, torch.as_tensor(perm, device=heatmaps.device)].flip(-1).clone()
    if shift:
        out[..., 1:] = out[..., :-1].copy() if isinstance(out, np.ndarray) else out[..., :-1].clone()
    return out


def flip_test_average(heatmaps, flipped_heatmaps, spec, shift: bool = False):
    """Average of the plain prediction and the un-flipped prediction of the flipped input."""
    return (heatmaps + flip_back(flipped_heatmaps, spec, shift)) * 0.5
