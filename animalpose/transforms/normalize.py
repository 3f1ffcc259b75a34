"""Input normalisation conventions.

* HRNet / SimpleBaseline / DARK / UDP / DEKR: ``(x / 255 - mean) / std`` with
  the ImageNet statistics, RGB (Microsoft's SimpleBaseline weights were
  trained on BGR: ``bgr=True``).
* bearpaw / CC-SSL: ``x / 255 - mean`` with the dataset's RGB mean and **no**
  division by std; the reference crops through ``scipy.misc.imresize``, which
  stretches every crop to the full 0-255 range first (``bytescale=True``
  reproduces that).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import torch

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Normalize:
    """Turn an ``(H, W, 3)`` uint8 RGB crop into a ``(3, H, W)`` float tensor."""

    mean: Sequence[float] = IMAGENET_MEAN
    std: Optional[Sequence[float]] = IMAGENET_STD   # None: subtract the mean only (bearpaw)
    bgr: bool = False
    bytescale: bool = False

    def __call__(self, image: np.ndarray) -> torch.Tensor:
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"image must be (H, W, 3), got shape {image.shape}")
        x = image.astype(np.float32)
        if self.bytescale:
            lo, hi = x.min(), x.max()
            x = (x - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(x)
            x = np.floor(x + 0.5)  # back to bytes, as the reference's uint8 crop
        x = x / 255.0 - np.asarray(self.mean, np.float32)
        if self.std is not None:
            x = x / np.asarray(self.std, np.float32)
        if self.bgr:
            x = x[..., ::-1]
        return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))

    def denormalize(self, tensor: torch.Tensor) -> np.ndarray:
        """Inverse (up to the byte-scaling): ``(3, H, W)`` tensor -> ``(H, W, 3)`` uint8 RGB."""
        x = tensor.detach().cpu().float().numpy().transpose(1, 2, 0)
        if self.bgr:
            x = x[..., ::-1]
        if self.std is not None:
            x = x * np.asarray(self.std, np.float32)
        x = (x + np.asarray(self.mean, np.float32)) * 255.0
        return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def imagenet() -> Normalize:
    """HRNet / SimpleBaseline (HRNet repo weights) / DARK / UDP / DEKR input convention."""
    return Normalize()


def bearpaw(mean: Sequence[float], bytescale: bool = True) -> Normalize:
    """bearpaw / CC-SSL convention with a dataset RGB ``mean`` (e.g. ``datasets.synthetic_animal.RGB_MEAN``)."""
    return Normalize(mean=tuple(mean), std=None, bytescale=bytescale)
