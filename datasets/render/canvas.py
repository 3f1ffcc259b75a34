"""Drawing primitives shared by the procedural renderers.

Parts are filled polygons painted back to front into a *layer map* (``H, W``
int16, ``-1`` = background, else the layer index of the front-most part).  A
keypoint is visible when it lies inside the image and no part of a higher
layer than the keypoint's own covers its pixel: visibility follows from the
depth order of the parts, not from a rule of thumb.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Sequence

import cv2
import numpy as np

_SHIFT = 4  # sub-pixel bits for cv2.fillPoly
_ONE = 1 << _SHIFT


def capsules(p, q, r1, r2, n: int = 8) -> np.ndarray:
    """Tapered capsule polygons, batched: ``(M, 2)`` ends ``p``, ``q`` and ``(M,)`` radii
    ``r1`` (at ``p``), ``r2`` (at ``q``) -> ``(M, 2n, 2)``."""
    p, q = np.asarray(p, np.float64), np.asarray(q, np.float64)
    r1, r2 = np.asarray(r1, np.float64), np.asarray(r2, np.float64)
    d = q - p
    ang = np.where(np.hypot(d[:, 0], d[:, 1]) > 1e-9, np.arctan2(d[:, 1], d[:, 0]), 0.0)[:, None]
    arc = np.linspace(-np.pi / 2, np.pi / 2, n)
    a_q, a_p = ang + arc, ang + arc + np.pi
    cap_q = q[:, None] + r2[:, None, None] * np.stack([np.cos(a_q), np.sin(a_q)], -1)
    cap_p = p[:, None] + r1[:, None, None] * np.stack([np.cos(a_p), np.sin(a_p)], -1)
    return np.concatenate([cap_q, cap_p], 1)


def capsule(p, q, r1: float, r2: float, n: int = 8) -> np.ndarray:
    """Polygon ``(2n, 2)`` of a tapered capsule from ``p`` (radius ``r1``) to ``q`` (radius ``r2``)."""
    return capsules(np.asarray(p, np.float64)[None], np.asarray(q, np.float64)[None], [r1], [r2], n)[0]


def ellipse(center, axes, angle: float, n: int = 32) -> np.ndarray:
    """Polygon ``(n, 2)`` of an ellipse with semi-axes ``axes`` rotated by ``angle`` radians."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    pts = np.stack([axes[0] * np.cos(t), axes[1] * np.sin(t)], 1)
    c, s = np.cos(angle), np.sin(angle)
    return pts @ np.array([[c, s], [-s, c]]) + np.asarray(center, np.float64)


def transform_points(points: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """Apply a ``2x3`` affine to ``(..., 2)`` points."""
    pts = np.asarray(points, np.float64)
    return pts @ affine[:, :2].T + affine[:, 2]


def fill_mask(shape, polygon: np.ndarray) -> np.ndarray:
    """Boolean ``(H, W)`` mask of a polygon in pixel coordinates (pixel centres at integers)."""
    m = np.zeros(shape[:2], np.uint8)
    pts = np.round(np.asarray(polygon) * _ONE).astype(np.int32)
    cv2.fillPoly(m, [pts], 1, lineType=cv2.LINE_8, shift=_SHIFT)
    return m.astype(bool)


@dataclass
class Part:
    """A filled polygon in image coordinates at depth ``layer`` (higher = nearer)."""
    name: str
    polygon: np.ndarray
    layer: int
    shade: float = 1.0


def paint_layers(shape, parts: Sequence[Part]) -> np.ndarray:
    """Layer map ``(H, W)`` int16: front-most layer per pixel, -1 for background."""
    layer_map = np.full(shape[:2], -1, np.int16)
    for part in sorted(parts, key=lambda p: p.layer):
        pts = np.round(np.asarray(part.polygon) * _ONE).astype(np.int32)
        cv2.fillPoly(layer_map, [pts], int(part.layer), lineType=cv2.LINE_8, shift=_SHIFT)
    return layer_map


def shade_map(layer_map: np.ndarray, parts: Sequence[Part]) -> np.ndarray:
    """Per-pixel shading factor ``(H, W)`` float32 from each part's ``shade`` (1 on background)."""
    lut = np.ones(int(max([p.layer for p in parts] + [0])) + 2, np.float32)
    for p in parts:
        lut[p.layer + 1] = p.shade
    return lut[layer_map.astype(np.int64) + 1]


def visibility(points: np.ndarray, owner_layers: np.ndarray, layer_map: np.ndarray) -> np.ndarray:
    """Visibility ``(N,)`` bool of ``(N, 2)`` points with their own depth layers.

    A point is visible when its rounded pixel lies inside the image and the
    front-most layer there is not above the point's own layer.
    """
    h, w = layer_map.shape
    pts = np.asarray(points, np.float64)
    xi = np.floor(pts[:, 0] + 0.5).astype(np.int64)
    yi = np.floor(pts[:, 1] + 0.5).astype(np.int64)
    inside = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
    top = np.full(len(pts), np.iinfo(np.int16).max, np.int64)
    top[inside] = layer_map[yi[inside], xi[inside]]
    return inside & (top <= np.asarray(owner_layers))


def value_noise(rng: np.random.Generator, h: int, w: int, cell: float) -> np.ndarray:
    """Smooth random field in [0, 1], ``(h, w)`` float32, feature size ``cell`` pixels."""
    gh, gw = max(2, int(np.ceil(h / cell)) + 2), max(2, int(np.ceil(w / cell)) + 2)
    grid = rng.random((gh, gw)).astype(np.float32)
    big = cv2.resize(grid, (int(gw * cell), int(gh * cell)), interpolation=cv2.INTER_CUBIC)
    return np.clip(big[:h, :w], 0.0, 1.0)


def fbm(rng: np.random.Generator, h: int, w: int, cell: float, octaves: int = 4) -> np.ndarray:
    """Fractal (multi-octave) noise in [0, 1], ``(h, w)`` float32."""
    out = np.zeros((h, w), np.float32)
    amp, total = 1.0, 0.0
    for o in range(octaves):
        c = max(1.0, cell / (2 ** o))
        out += amp * value_noise(rng, h, w, c)
        total += amp
        amp *= 0.5
    return out / total


def vertical_gradient(h: int, w: int, top, bottom) -> np.ndarray:
    """``(h, w, 3)`` float32 image blending colour ``top`` to ``bottom``."""
    t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    img = (1 - t) * np.asarray(top, np.float32) + t * np.asarray(bottom, np.float32)
    return np.broadcast_to(img, (h, w, 3)).copy()


def to_uint8(img: np.ndarray) -> np.ndarray:
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def random_polygons(rng: np.random.Generator, h: int, w: int, count: int) -> List[np.ndarray]:
    """Irregular blob polygons for background clutter and occluders."""
    polys = []
    for _ in range(count):
        c = rng.uniform([0, 0], [w, h])
        r = rng.uniform(0.03, 0.15) * min(h, w)
        k = int(rng.integers(5, 10))
        ang = np.sort(rng.uniform(0, 2 * np.pi, k))
        rad = r * rng.uniform(0.5, 1.3, k)
        polys.append(c + np.stack([rad * np.cos(ang), rad * np.sin(ang)], 1))
    return polys
