"""Photometric augmentation built on albumentations 2.0.

The CC-SSL "strong" recipe (imgaug in the reference code, which no longer
imports with NumPy 2) needs additive Gaussian noise with a fixed standard
deviation, a Gaussian blur with sigma drawn from a range, and imgaug's linear
contrast around mid-grey, each optionally per channel.  albumentations has the
first two; :class:`LinearContrast` adds the third as an albumentations
transform so all three share its seeding API (``set_random_state``).
"""
from __future__ import annotations

import random
from typing import Any, Tuple

import albumentations as A
import numpy as np

#: Value that linear contrast keeps fixed for uint8 images (mid-grey).
CONTRAST_CENTRE = 127.5


class LinearContrast(A.ImageOnlyTransform):
    """``v' = c + alpha * (v - c)`` with ``alpha ~ U(alpha_range)`` and ``c`` mid-grey.

    With probability ``per_channel`` each channel draws its own ``alpha``
    (imgaug's ``ContrastNormalization(per_channel=p)``); results are clipped
    to ``[0, 255]`` for uint8 images.
    """

    def __init__(self, alpha_range: Tuple[float, float] = (0.5, 2.0), per_channel: float = 0.5, p: float = 1.0):
        super().__init__(p=p)
        self.alpha_range = tuple(float(a) for a in alpha_range)
        self.per_channel = float(per_channel)

    def get_params_dependent_on_data(self, params: dict, data: dict) -> dict:
        img = data["image"]
        channels = img.shape[2] if img.ndim == 3 else 1
        n = channels if self.random_generator.random() < self.per_channel else 1
        alpha = self.random_generator.uniform(*self.alpha_range, size=n)
        return {"alpha": np.broadcast_to(alpha, (channels,)).astype(np.float32)}

    def apply(self, img: np.ndarray, alpha: np.ndarray = None, **params: Any) -> np.ndarray:
        out = CONTRAST_CENTRE + (img.astype(np.float32) - CONTRAST_CENTRE) * (alpha if img.ndim == 3 else alpha[0])
        if img.dtype == np.uint8:
            return np.clip(np.rint(out), 0, 255).astype(np.uint8)
        return out.astype(img.dtype)

    def get_transform_init_args_names(self) -> Tuple[str, ...]:
        return ("alpha_range", "per_channel")


def gaussian_noise(std_fraction: float, per_channel: bool) -> A.BasicTransform:
    """Additive zero-mean noise with ``std = std_fraction * 255`` (for uint8), always applied."""
    return A.GaussNoise(std_range=(std_fraction, std_fraction), mean_range=(0.0, 0.0), per_channel=per_channel,
                        noise_scale_factor=1, p=1.0)


def gaussian_blur(sigma_range: Tuple[float, float]) -> A.BasicTransform:
    """Gaussian blur with ``sigma ~ U(sigma_range)``; the kernel size follows sigma."""
    return A.GaussianBlur(blur_limit=0, sigma_limit=tuple(sigma_range), p=1.0)


def apply_seeded(transform: A.BasicTransform, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Run an albumentations transform on ``image`` with randomness drawn from ``rng``."""
    seed = int(rng.integers(0, 2 ** 63 - 1))
    transform.set_random_state(np.random.default_rng(seed), random.Random(seed))
    return transform(image=image)["image"]


def colour_scale(image: np.ndarray, rng: np.random.Generator, low: float = 0.8, high: float = 1.2) -> np.ndarray:
    """bearpaw colour jitter: each channel multiplied by its own ``U(low, high)``, clipped."""
    factors = rng.uniform(low, high, size=image.shape[2]).astype(np.float32)
    out = image.astype(np.float32) * factors
    if image.dtype == np.uint8:
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return np.clip(out, 0.0, 1.0).astype(image.dtype)
