"""Top-down training augmentation as named recipes.

A recipe (:class:`AugmentRecipe`) holds the random factors of one reference
pipeline; :class:`TopDownAugment` samples them with a NumPy generator and
returns the network input crop, the keypoints in input pixels and the
``2x3`` source -> input matrix.  Geometry is OpenCV affine warps; photometric
parts are albumentations (:mod:`.photometric`).

Presets (:data:`RECIPES`):

* ``hrnet`` - HRNet / SimpleBaseline: scale ``s *= clip(N(0,1) * 0.35 + 1, 0.65, 1.35)``,
  rotation ``clip(N(0,1) * 45, -90, 90)`` with p 0.6, flip p 0.5
  (``x' = w - x - 1``), half-body p 0.3 when more than 8 joints are labelled.
* ``simplebaseline`` - SimpleBaseline (microsoft/human-pose-estimation.pytorch): the
  ``hrnet`` recipe with scale 0.30, rotation 40 and no half-body.
* ``bearpaw`` - bearpaw / CC-SSL real and synthetic sets: scale factor 0.25,
  rotation 30 (p 0.6, clipped at 60), flip p 0.5 with bearpaw's ``x' = w - x``,
  per-channel colour scale ``U(0.8, 1.2)``.
* ``ccssl_strong`` - CC-SSL's ``*_sp`` sets: on the full image, in random order,
  each with p 0.5: affine (scale 0.5-1.5 per axis, translate +-5 %, rotate
  +-30 deg, shear +-20 deg, nearest or bilinear, constant border of random grey),
  Gaussian noise (std 0.5 * 255, per channel for half the images), Gaussian
  blur (sigma 1-5) and linear contrast 0.5-2.0 (per channel for half the
  images); keypoints leaving the image are dropped; then flip p 0.5.  The crop
  itself is not scaled or rotated (as in the reference).
* ``mmpose`` - mmpose 1.x top-down (``RandomFlip``, ``RandomHalfBody``,
  ``RandomBBoxTransform``): flip p 0.5 (``x' = w - 1 - x``); half-body p 0.3
  with at least 9 labelled joints, the upper half when it has >= 2 and the
  lower >= 3 labelled joints by a fair coin, else the half that qualifies,
  padding 1.5; then, with ``T`` a standard normal truncated to ``[-1, 1]``: a
  centre shift ``T * 0.16 * box size`` with p 0.3, a scale ``1 + 0.5 T``
  (range 0.5-1.5) always, a rotation ``80 T`` degrees with p 0.6.
* ``none`` - deterministic crop (evaluation).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Dict, Optional, Sequence, Tuple

import cv2
import numpy as np

from ..keypoints import KeypointSpec, get_spec
from .affine import PIXEL_STD, affine_points, get_affine_transform, get_udp_warp_matrix, warp_image
from .photometric import LinearContrast, apply_seeded, colour_scale, gaussian_blur, gaussian_noise
from .resample import warp_antialiased


@dataclass(frozen=True)
class StrongAffine:
    """Ranges of the CC-SSL strong affine (imgaug ``Affine`` semantics, centred on the image)."""

    scale: Tuple[float, float] = (0.5, 1.5)
    translate: Tuple[float, float] = (-0.05, 0.05)
    rotate: Tuple[float, float] = (-30.0, 30.0)
    shear: Tuple[float, float] = (-20.0, 20.0)


@dataclass(frozen=True)
class AugmentRecipe:
    """Random factors of one training pipeline (all probabilities in [0, 1])."""

    name: str = "none"
    scale_factor: float = 0.0          # s *= clip(N(0,1) * sf + 1, 1 - sf, 1 + sf)
    rotation_factor: float = 0.0       # r = clip(N(0,1) * rf, -2 rf, 2 rf) ...
    rotation_prob: float = 0.6         # ... applied with this probability
    flip_prob: float = 0.0
    flip_offset: float = 1.0           # x' = w - x - flip_offset (1: pixel centres, 0: bearpaw)
    half_body_prob: float = 0.0
    half_body_min_joints: int = 8      # half-body only when more labelled joints than this
    half_body_padding: float = 1.5
    colour_range: Optional[Tuple[float, float]] = None   # per-channel multiplicative jitter
    strong: bool = False               # CC-SSL strong full-image sequence
    strong_prob: float = 0.5           # probability of each strong op
    strong_affine: StrongAffine = field(default_factory=StrongAffine)
    noise_std: float = 0.5             # fraction of 255
    blur_sigma: Tuple[float, float] = (1.0, 5.0)
    contrast: Tuple[float, float] = (0.5, 2.0)
    per_channel_prob: float = 0.5
    half_body_rule: str = "hrnet"      # hrnet | mmpose (upper needs >= min_upper, lower >= min_lower joints)
    half_body_min_upper: int = 2
    half_body_min_lower: int = 3
    bbox_transform: bool = False       # mmpose RandomBBoxTransform (truncated-normal shift / scale / rotation)
    shift_factor: float = 0.16         # centre shift T * factor * box size ...
    shift_prob: float = 0.3            # ... with this probability
    scale_range: Tuple[float, float] = (0.5, 1.5)   # scale mu + sigma T (mu, sigma from the range)
    scale_prob: float = 1.0
    rotate_factor: float = 80.0        # rotation T * factor degrees ...
    rotate_prob: float = 0.6           # ... with this probability


RECIPES: Dict[str, AugmentRecipe] = {
    "none": AugmentRecipe("none"),
    "hrnet": AugmentRecipe("hrnet", scale_factor=0.35, rotation_factor=45.0, flip_prob=0.5,
                           half_body_prob=0.3),
    "simplebaseline": AugmentRecipe("simplebaseline", scale_factor=0.30, rotation_factor=40.0, flip_prob=0.5),
    "bearpaw": AugmentRecipe("bearpaw", scale_factor=0.25, rotation_factor=30.0, flip_prob=0.5,
                             flip_offset=0.0, colour_range=(0.8, 1.2)),
    "ccssl_strong": AugmentRecipe("ccssl_strong", flip_prob=0.5, flip_offset=0.0, strong=True),
    "mmpose": AugmentRecipe("mmpose", flip_prob=0.5, half_body_prob=0.3, half_body_rule="mmpose",
                            bbox_transform=True),
}


def truncnorm(rng: np.random.Generator) -> float:
    """A standard normal truncated to ``[-1, 1]`` (scipy's ``truncnorm(-1, 1)``), by rejection."""
    while True:
        v = rng.standard_normal()
        if -1.0 <= v <= 1.0:
            return float(v)


def mmpose_half_body_indices(keypoints: np.ndarray, upper_body: Sequence[int], rng: np.random.Generator,
                             min_upper: int = 2, min_lower: int = 3) -> Optional[np.ndarray]:
    """mmpose ``RandomHalfBody`` choice: the labelled upper joints or the labelled lower ones
    (a fair coin when both halves qualify), ``None`` when neither does."""
    labelled = keypoints[:, 2] > 0
    is_upper = np.zeros(len(keypoints), bool)
    is_upper[list(upper_body)] = True
    upper, lower = np.nonzero(labelled & is_upper)[0], np.nonzero(labelled & ~is_upper)[0]
    if len(upper) < min_upper and len(lower) < min_lower:
        return None
    if len(lower) < min_lower:
        return upper
    if len(upper) < min_upper:
        return lower
    return upper if rng.random() < 0.5 else lower


def get_recipe(recipe) -> AugmentRecipe:
    """A recipe by name (``hrnet``, ``bearpaw``, ``ccssl_strong``, ``none``) or the recipe itself."""
    if isinstance(recipe, AugmentRecipe):
        return recipe
    if recipe not in RECIPES:
        raise KeyError(f"unknown augmentation recipe {recipe!r}; choose from {', '.join(RECIPES)}")
    return RECIPES[recipe]


@dataclass
class Augmented:
    """One augmented sample: ``image (h, w, 3)`` crop, ``keypoints (K, 3)`` in input px."""

    image: np.ndarray
    keypoints: np.ndarray
    matrix: np.ndarray        # 2x3, source image -> input crop
    center: np.ndarray
    scale: np.ndarray
    rotation: float
    flipped: bool


def half_body_center_scale(keypoints: np.ndarray, upper_body: Sequence[int], aspect_ratio: float,
                           rng: np.random.Generator, padding: float = 1.5):
    """HRNet half-body box: pick the upper or lower labelled joints, box them, pad by ``padding``.

    Returns ``(center, scale)`` or ``None`` when fewer than two joints are selected.
    The choice follows the reference (upper when ``N(0,1) < 0.5`` and it has
    more than two joints, else lower when it has more than two, else upper).
    """
    labelled = keypoints[:, 2] > 0
    upper_mask = np.zeros(len(keypoints), bool)
    upper_mask[list(upper_body)] = True
    upper = keypoints[labelled & upper_mask, :2]
    lower = keypoints[labelled & ~upper_mask, :2]
    if rng.standard_normal() < 0.5 and len(upper) > 2:
        chosen = upper
    else:
        chosen = lower if len(lower) > 2 else upper
    if len(chosen) < 2:
        return None
    center = chosen.mean(0).astype(np.float32)
    w, h = chosen.max(0) - chosen.min(0)
    if w > aspect_ratio * h:
        h = w / aspect_ratio
    elif w < aspect_ratio * h:
        w = h * aspect_ratio
    return center, np.array([w, h], np.float32) / PIXEL_STD * padding


def strong_affine_matrix(size: Tuple[int, int], rng: np.random.Generator,
                         ranges: StrongAffine = StrongAffine()) -> np.ndarray:
    """``2x3`` imgaug-style affine about the image centre for an image of ``size = (w, h)``.

    Scales per axis, shears along x, rotates, then translates by a fraction of the size.
    """
    w, h = size
    sx, sy = rng.uniform(*ranges.scale, size=2)
    tx, ty = rng.uniform(*ranges.translate, size=2) * np.array([w, h])
    rot = np.deg2rad(rng.uniform(*ranges.rotate))
    shear = np.deg2rad(rng.uniform(*ranges.shear))
    c = np.array([w / 2.0 - 0.5, h / 2.0 - 0.5])
    rotation = np.array([[np.cos(rot), -np.sin(rot)], [np.sin(rot), np.cos(rot)]])
    shear_x = np.array([[1.0, -np.tan(shear)], [0.0, 1.0]])
    lin = rotation @ shear_x @ np.diag([sx, sy])
    return np.concatenate([lin, (c + np.array([tx, ty]) - lin @ c)[:, None]], 1)


class StrongAugment:
    """CC-SSL strong full-image augmentation (see the module docstring)."""

    def __init__(self, recipe: AugmentRecipe):
        self.recipe = recipe
        self.noise = {True: gaussian_noise(recipe.noise_std, True), False: gaussian_noise(recipe.noise_std, False)}
        self.blur = gaussian_blur(recipe.blur_sigma)
        self.contrast = LinearContrast(recipe.contrast, recipe.per_channel_prob)

    def __call__(self, image: np.ndarray, keypoints: np.ndarray, rng: np.random.Generator):
        """Returns the augmented ``image`` and ``keypoints (K, 3)``; joints pushed out of the image get ``v = 0``."""
        r = self.recipe
        kp = np.array(keypoints, np.float32, copy=True)
        for op in rng.permutation(4):
            if rng.random() >= r.strong_prob:
                continue
            if op == 0:
                h, w = image.shape[:2]
                m = strong_affine_matrix((w, h), rng, r.strong_affine)
                interp = cv2.INTER_NEAREST if rng.random() < 0.5 else cv2.INTER_LINEAR
                cval = float(rng.integers(0, 256))
                image = cv2.warpAffine(image, m, (w, h), flags=interp, borderMode=cv2.BORDER_CONSTANT,
                                       borderValue=(cval, cval, cval))
                kp[:, :2] = affine_points(kp[:, :2], m)
            elif op == 1:
                image = apply_seeded(self.noise[bool(rng.random() < r.per_channel_prob)], image, rng)
            elif op == 2:
                image = apply_seeded(self.blur, image, rng)
            else:
                image = apply_seeded(self.contrast, image, rng)
        h, w = image.shape[:2]
        outside = (kp[:, 0] < 0) | (kp[:, 1] < 0) | (kp[:, 0] > w) | (kp[:, 1] > h)
        kp[outside] = 0.0
        return image, kp


class TopDownAugment:
    """Sample a recipe and produce the input crop of one instance.

    Args:
        recipe: preset name or :class:`AugmentRecipe`.
        spec: keypoint spec (flip pairs, half-body joints).
        input_size: network input ``(w, h)``.
        warp: ``"standard"`` (HRNet), ``"unbiased"`` (DARK) or ``"udp"``.
        antialias: crop with :func:`~.resample.warp_antialiased` (the reference CC-SSL resampling).
        scale_dtype: ``"float32"`` computes ``scale * 200`` as HRNet / DarkPose / UDP do.
    """

    def __init__(self, recipe, spec, input_size: Sequence[int], warp: str = "standard", antialias: bool = False,
                 scale_dtype: str = "float64"):
        self.recipe = get_recipe(recipe)
        self.spec: KeypointSpec = get_spec(spec)
        self.input_size = (int(input_size[0]), int(input_size[1]))
        if warp not in ("standard", "unbiased", "udp"):
            raise ValueError(f"warp must be 'standard', 'unbiased' or 'udp', got {warp!r}")
        self.warp = warp
        self.antialias = bool(antialias)
        if scale_dtype not in ("float32", "float64"):
            raise ValueError(f"scale_dtype must be float32 or float64, got {scale_dtype!r}")
        self.scale_dtype = np.dtype(scale_dtype)
        self.strong = StrongAugment(self.recipe) if self.recipe.strong else None

    def crop(self, image: np.ndarray, matrix: np.ndarray) -> np.ndarray:
        """The input crop: ``cv2.warpAffine``, or the antialiased path (:mod:`.resample`)."""
        if self.antialias:
            return warp_antialiased(np.ascontiguousarray(image), matrix, self.input_size)
        return warp_image(np.ascontiguousarray(image), matrix, self.input_size)

    def matrix(self, center, scale, rotation: float) -> np.ndarray:
        """``2x3`` source -> input matrix of the configured warp convention."""
        if self.warp == "udp":
            return get_udp_warp_matrix(center, scale, rotation, self.input_size, scale_dtype=self.scale_dtype)
        return get_affine_transform(center, scale, rotation, self.input_size, unbiased=self.warp == "unbiased",
                                    scale_dtype=self.scale_dtype)

    def __call__(self, image: np.ndarray, keypoints: np.ndarray, center, scale,
                 rng: Optional[np.random.Generator] = None) -> Augmented:
        r = self.recipe
        rng = rng if rng is not None else np.random.default_rng()
        kp = np.array(keypoints, np.float32, copy=True)
        if kp.shape != (self.spec.num_joints, 3):
            raise ValueError(f"keypoints must have shape ({self.spec.num_joints}, 3) for spec {self.spec.name}, "
                             f"got {kp.shape}")
        center = np.array(center, np.float32, copy=True)
        scale = np.array(np.broadcast_to(np.asarray(scale, np.float32), (2,)), copy=True)
        if self.strong is not None:
            image, kp = self.strong(image, kp, rng)
        aspect = self.input_size[0] / self.input_size[1]
        if r.bbox_transform:
            return self._mmpose(image, kp, center, scale, aspect, rng)
        if (r.half_body_prob > 0 and self.spec.upper_body and (kp[:, 2] > 0).sum() > r.half_body_min_joints
                and rng.random() < r.half_body_prob):
            hb = half_body_center_scale(kp, self.spec.upper_body, aspect, rng, r.half_body_padding)
            if hb is not None:
                center, scale = hb
        rotation = 0.0
        if r.scale_factor > 0:
            sf = r.scale_factor
            scale = scale * np.clip(rng.standard_normal() * sf + 1, 1 - sf, 1 + sf)
        if r.rotation_factor > 0:
            rf = r.rotation_factor
            rotation = float(np.clip(rng.standard_normal() * rf, -2 * rf, 2 * rf)) if rng.random() <= r.rotation_prob else 0.0
        flipped = bool(r.flip_prob > 0 and rng.random() < r.flip_prob)
        if flipped:
            width = image.shape[1]
            image = image[:, ::-1]
            kp = self.spec.flip_keypoints(kp, width, r.flip_offset)
            center[0] = width - center[0] - r.flip_offset
        if r.colour_range is not None:
            image = colour_scale(np.ascontiguousarray(image), rng, *r.colour_range)
        m = self.matrix(center, scale, rotation)
        crop = self.crop(image, m)
        out = kp.copy()
        out[:, :2] = affine_points(kp[:, :2], m)
        return Augmented(crop, out, m, center, scale, rotation, flipped)

    def _mmpose(self, image, kp, center, scale, aspect, rng) -> Augmented:
        """The ``mmpose`` recipe (module docstring): flip, half-body, bbox transform, crop."""
        r = self.recipe
        flipped = bool(r.flip_prob > 0 and rng.random() < r.flip_prob)
        if flipped:
            width = image.shape[1]
            image = image[:, ::-1]
            kp = self.spec.flip_keypoints(kp, width, r.flip_offset)
            center[0] = width - center[0] - r.flip_offset
        if (r.half_body_prob > 0 and self.spec.upper_body and (kp[:, 2] > 0).sum() > r.half_body_min_joints
                and rng.random() < r.half_body_prob):
            idx = mmpose_half_body_indices(kp, self.spec.upper_body, rng, r.half_body_min_upper, r.half_body_min_lower)
            if idx is not None and len(idx) >= 2:
                pts = kp[idx, :2]
                center = pts.mean(0).astype(np.float32)
                w, h = pts.max(0) - pts.min(0)
                if w > aspect * h:
                    h = w / aspect
                elif w < aspect * h:
                    w = h * aspect
                scale = np.array([w, h], np.float32) / PIXEL_STD * r.half_body_padding
        if rng.random() < r.shift_prob:
            center = center + np.array([truncnorm(rng), truncnorm(rng)], np.float32) * r.shift_factor * scale * PIXEL_STD
        lo, hi = r.scale_range
        if rng.random() < r.scale_prob:
            scale = scale * ((hi + lo) / 2.0 + (hi - lo) / 2.0 * truncnorm(rng))
        rotation = truncnorm(rng) * r.rotate_factor if rng.random() < r.rotate_prob else 0.0
        m = self.matrix(center, scale, rotation)
        crop = self.crop(image, m)
        out = kp.copy()
        out[:, :2] = affine_points(kp[:, :2], m)
        return Augmented(crop, out, m, np.asarray(center, np.float32), np.asarray(scale, np.float32), float(rotation),
                         flipped)


def with_overrides(recipe, **changes) -> AugmentRecipe:
    """A copy of a recipe with some fields changed (e.g. ``flip_prob=0``)."""
    return replace(get_recipe(recipe), **changes)
