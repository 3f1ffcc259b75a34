"""Appearance of the two animal domains.

*synthetic* (source): flat CAD-like colours (the model's default or a flat
version of a real coat colour), crisp edges, a regular pattern at most, no
lighting, shadow, occluders or noise, composited onto random indoor/urban
"photographs" as the reference's synthetic data is composited onto photos.  *real* (target): fur grain,
irregular stripes / patches / wool, directional light with soft shading, a
ground shadow, cluttered natural backgrounds, foreground occluders, blur,
sensor noise and JPEG compression (applied when the frame is written).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .canvas import fbm, random_polygons, value_noise, vertical_gradient
from .quadruped import Pose, Species, rig_points

DOMAINS = ("synthetic", "real")

# canonical region covered by a coat texture: x in [X0, X1], y in [Y0, Y1]
X0, X1, Y0, Y1 = -1.6, 1.8, -0.3, 2.4
TEX_RES = 110  # texture pixels per canonical unit


@dataclass
class Coat:
    """Coat texture ``(Ht, Wt, 3)`` float32 RGB in canonical space, ``tex_to_canon`` 3x3."""
    texture: np.ndarray
    tex_to_canon: np.ndarray


def _grid():
    w = int((X1 - X0) * TEX_RES)
    h = int((Y1 - Y0) * TEX_RES)
    xs = X0 + (np.arange(w, dtype=np.float32) + 0.5) / TEX_RES
    ys = Y1 - (np.arange(h, dtype=np.float32) + 0.5) / TEX_RES
    return np.meshgrid(xs, ys)


def make_coat(sp: Species, rng: np.random.Generator, domain: str) -> Coat:
    """A coat for one animal identity (kept fixed over the frames of a video)."""
    if domain not in DOMAINS:
        raise ValueError(f"unknown domain {domain!r}; expected one of {DOMAINS}")
    X, Y = _grid()
    h, w = X.shape
    body_y = float(rig_points(sp, Pose(gait="stand"))["_centre"][1])  # torso centre height
    if domain == "synthetic":
        # a CAD texture: the model's default colour or a flat version of a real coat colour
        colours = (sp.synth_coat,) + tuple(sp.coat)
        base = np.asarray(colours[rng.integers(len(colours))], np.float32) * rng.uniform(0.9, 1.1, 3).astype(np.float32)
        tex = np.broadcast_to(base, (h, w, 3)).copy()
        if sp.pattern == "stripes":  # regular CAD-texture stripes
            stripes = np.sin(2 * np.pi * 5.0 * X) > 0.6
            tex[stripes] *= 0.55
        # flat two-tone shading: lighter top half, as a CAD renderer with one light
        tex *= (0.86 + 0.14 * (Y > body_y))[..., None]
    else:
        coats = np.asarray(sp.coat, np.float32)
        base = coats[rng.integers(len(coats))] * rng.uniform(0.85, 1.12, 3).astype(np.float32)
        tex = np.broadcast_to(base, (h, w, 3)).copy()
        large = fbm(rng, h, w, cell=40, octaves=3)
        grain = value_noise(rng, h, w, cell=1.5) - 0.5
        tex *= (0.80 + 0.40 * large)[..., None]
        if sp.pattern == "stripes":
            warp = fbm(rng, h, w, cell=30, octaves=2)
            wave = np.sin(2 * np.pi * (X * rng.uniform(5.5, 8.0) + 1.8 * warp + 0.4 * Y))
            stripes = wave > rng.uniform(0.45, 0.65)
            tex[stripes] = tex[stripes] * 0.12 + 12.0
        elif sp.pattern == "patches":
            other = coats[rng.integers(len(coats))]
            patch = fbm(rng, h, w, cell=45, octaves=3) > rng.uniform(0.5, 0.62)
            tex[patch] = other * (0.85 + 0.3 * large[patch, None])
        elif sp.pattern == "wool":
            curls = value_noise(rng, h, w, cell=3.0)
            tex *= (0.75 + 0.4 * curls)[..., None]
        tex *= (1.0 + 0.45 * grain)[..., None]
        belly = np.clip((body_y - 0.15 * sp.torso_h - Y) / (0.15 * sp.torso_h), 0, 1) * (np.abs(X) < 0.5) * (Y > body_y - 0.5 * sp.torso_h)
        tex = tex * (1 - 0.6 * belly[..., None]) + np.asarray(sp.belly, np.float32) * 0.6 * belly[..., None]
    tex_to_canon = np.array([[1.0 / TEX_RES, 0, X0], [0, -1.0 / TEX_RES, Y1], [0, 0, 1]])
    return Coat(np.clip(tex, 0, 255).astype(np.float32), tex_to_canon)


def warp_coat(coat: Coat, canon_to_image: np.ndarray, size) -> np.ndarray:
    """Coat warped into an image of ``size = (w, h)``: ``(h, w, 3)`` float32."""
    M = canon_to_image @ coat.tex_to_canon
    return cv2.warpAffine(coat.texture, M[:2].astype(np.float64), tuple(int(v) for v in size),
                          flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def _photo_background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """An indoor/urban "photograph": a tinted wall/floor split covered with random textured boxes."""
    img = vertical_gradient(h, w, rng.uniform(60, 230, 3), rng.uniform(40, 200, 3))
    tex = fbm(rng, h, w, cell=8, octaves=3)[..., None]
    img = img * (0.75 + 0.5 * tex)
    for poly in random_polygons(rng, h, w, int(rng.integers(4, 12))):
        m = np.zeros((h, w), np.uint8)
        cv2.fillPoly(m, [np.round(poly).astype(np.int32)], 1)
        col = rng.uniform(20, 240, 3)
        img = np.where(m[..., None] > 0, col * (0.7 + 0.6 * tex), img)
    return img.astype(np.float32)


def background(rng: np.random.Generator, h: int, w: int, domain: str, photo_prob: float = 1.0) -> np.ndarray:
    """``(h, w, 3)`` float32 background of the domain.

    ``synthetic``: with probability ``photo_prob`` a random indoor/urban "photograph", as the
    reference data composites its renders onto random photos; otherwise a flat two-tone CAD
    backdrop.  ``real``: an outdoor scene (sky, tree line, grass, rocks, branches) that the
    synthetic domain never shows."""
    horizon = int(h * rng.uniform(0.25, 0.6))
    if domain == "synthetic" and rng.random() < photo_prob:
        # the reference's synthetic images are composited onto random photographs; ours are
        # indoor/urban ones, so the target's natural scenes (grass, tree lines, rocks, branches)
        # are new to a synthetic-trained model, as real footage is to the reference's
        return _photo_background(rng, h, w)
    if domain == "synthetic":
        sky_top = rng.uniform(150, 235, 3)
        sky = vertical_gradient(horizon, w, sky_top, sky_top * rng.uniform(0.8, 1.0))
        floor_c = rng.uniform(70, 200, 3)
        floor = vertical_gradient(h - horizon, w, floor_c * 0.8, floor_c)
        img = np.concatenate([sky, floor], 0)
        if rng.random() < 0.5:  # a CAD-like tiled floor
            yy, xx = np.mgrid[0:h - horizon, 0:w]
            tiles = ((xx // 24 + yy // 12) % 2).astype(np.float32)
            img[horizon:] *= (0.92 + 0.08 * tiles)[..., None]
        return img.astype(np.float32)
    sky_c = rng.uniform([120, 150, 170], [210, 225, 250])
    sky = vertical_gradient(horizon, w, sky_c, sky_c * 0.9)
    clouds = fbm(rng, horizon, w, cell=60, octaves=4)
    sky = sky * (0.85 + 0.3 * clouds[..., None])
    ground_c = np.asarray([[70, 110, 40], [120, 110, 60], [150, 140, 90], [60, 80, 45]], np.float32)[rng.integers(4)]
    gh = h - horizon
    g1 = fbm(rng, gh, w, cell=30, octaves=5)
    g2 = value_noise(rng, gh, w, cell=2.0)
    ground = ground_c * (0.6 + 0.6 * g1[..., None]) * (0.85 + 0.3 * g2[..., None])
    ground *= np.linspace(0.8, 1.1, gh, dtype=np.float32)[:, None, None]
    img = np.concatenate([sky, ground], 0).astype(np.float32)
    # tree line on the horizon
    tree = fbm(rng, 1, w, cell=25, octaves=3)[0]
    top = (horizon - (0.05 + 0.25 * tree) * h).astype(np.int64)
    yy = np.arange(h)[:, None]
    trees = (yy >= top[None, :]) & (yy < horizon + 2)
    tree_c = rng.uniform([25, 45, 20], [70, 100, 55])
    tex = fbm(rng, h, w, cell=6, octaves=3)[..., None]
    img = np.where(trees[..., None], tree_c * (0.6 + 0.8 * tex), img)
    # clutter: rocks, bushes, branches
    palette = np.asarray([[110, 105, 100], [60, 85, 40], [95, 70, 45], [140, 130, 110], [40, 55, 30]], np.float32)
    for poly in random_polygons(rng, h, w, int(rng.integers(3, 9))):
        poly[:, 1] = horizon + (poly[:, 1] / h) * (h - horizon)  # clutter stands on the ground
        col = palette[rng.integers(len(palette))] * rng.uniform(0.7, 1.3)
        m = np.zeros((h, w), np.uint8)
        cv2.fillPoly(m, [np.round(poly).astype(np.int32)], 1)
        img = np.where(m[..., None] > 0, col * (0.6 + 0.7 * tex), img)
    for _ in range(int(rng.integers(0, 5))):
        p = rng.uniform([0, 0], [w, h]).astype(int)
        q = (p + rng.normal(0, 0.3 * w, 2)).astype(int)
        cv2.line(img, tuple(int(v) for v in p), tuple(int(v) for v in q),
                 tuple(float(c) for c in rng.uniform(20, 90, 3)), int(rng.integers(1, 4)), cv2.LINE_AA)
    return img.astype(np.float32)


@dataclass
class Look:
    """What the light and the camera add to a real-domain picture.

    Drawn once per still image, and once per **video shot**: a real video keeps its light, colour
    balance, lens blur and compression from frame to frame; only the sensor noise is new in every
    frame.  (Drawing these per frame made the rendered videos flicker, so Lucas-Kanade flow of the
    ground-truth joints was worse than assuming no motion at all.)"""
    light_angle: float          # direction of the light ramp (radians)
    light_gain: float           # strength of the ramp
    shadow: float               # darkening under the animal
    blur: float                 # Gaussian blur sigma (0: none)
    motion_blur: int            # horizontal motion-blur kernel length (0: none)
    cast: np.ndarray            # (3,) per-channel colour gain
    gamma: float
    noise_sd: float             # sensor noise (grey levels)
    occluder_colour: np.ndarray  # (3,) RGB of grass / branches
    jpeg_quality: int


def random_look(rng: np.random.Generator) -> Look:
    """A random real-domain :class:`Look`."""
    ang, gain, shadow = rng.uniform(0, 2 * np.pi), rng.uniform(0.15, 0.45), rng.uniform(0.25, 0.5)
    blur = rng.uniform(0.4, 1.4) if rng.random() < 0.7 else 0.0
    motion = int(rng.integers(3, 8)) if rng.random() < 0.25 else 0
    return Look(float(ang), float(gain), float(shadow), float(blur), motion,
                rng.uniform(0.85, 1.15, 3).astype(np.float32), float(rng.uniform(0.8, 1.25)),
                float(rng.uniform(2.0, 9.0)), rng.uniform([30, 60, 20], [120, 150, 70]),
                int(rng.integers(40, 85)))


def lighting(look: Look, h: int, w: int, mask: np.ndarray) -> np.ndarray:
    """Per-pixel light factor ``(h, w)`` for the animal pixels of the real domain."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ramp = (np.cos(look.light_angle) * xx / w + np.sin(look.light_angle) * yy / h)
    light = 0.95 + look.light_gain * (ramp - ramp.mean())
    # soft edge darkening gives a rounded, 3D look
    soft = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), max(1.0, 0.012 * max(h, w)))
    return (light * (0.7 + 0.3 * soft)).astype(np.float32)


def ground_shadow(img: np.ndarray, centre, width: float, strength: float) -> None:
    """Darken an elliptic soft shadow under the animal in place (``strength`` in [0, 1])."""
    h, w = img.shape[:2]
    m = np.zeros((h, w), np.float32)
    cv2.ellipse(m, (int(centre[0]), int(centre[1])), (max(2, int(width / 2)), max(1, int(width / 10))),
                0, 0, 360, 1.0, -1)
    m = cv2.GaussianBlur(m, (0, 0), max(1.0, width / 15))
    img *= (1 - strength * m)[..., None]


def occluder_layer(rng: np.random.Generator, h: int, w: int, region) -> list:
    """Foreground occluder polygons (grass tufts, a branch) overlapping ``region = x0, y0, x1, y1``."""
    x0, y0, x1, y1 = region
    polys = []
    if rng.random() < 0.5:  # grass tufts along the bottom of the animal
        for _ in range(int(rng.integers(3, 10))):
            bx = rng.uniform(x0, x1)
            by = y1 + rng.uniform(-0.02, 0.08) * h
            hgt = rng.uniform(0.05, 0.25) * (y1 - y0)
            lean = rng.normal(0, 0.3) * hgt
            bw = rng.uniform(0.004, 0.015) * w
            polys.append(np.array([[bx - bw, by], [bx + lean, by - hgt], [bx + bw, by]]))
    if rng.random() < 0.25:  # a branch across the body
        p = np.array([rng.uniform(x0 - 0.2 * (x1 - x0), x0), rng.uniform(y0, y1)])
        q = np.array([rng.uniform(x1, x1 + 0.2 * (x1 - x0)), rng.uniform(y0, y1)])
        d = q - p
        nrm = np.array([-d[1], d[0]]) / (np.hypot(*d) + 1e-9) * rng.uniform(0.01, 0.03) * min(h, w)
        polys.append(np.stack([p + nrm, q + nrm * 0.5, q - nrm * 0.5, p - nrm]))
    return polys


def degrade(img: np.ndarray, look: Look, rng: np.random.Generator) -> np.ndarray:
    """Camera effects of the real domain: blur, colour cast, gamma (from ``look``), sensor noise
    (a new draw from ``rng``)."""
    if look.blur > 0:
        img = cv2.GaussianBlur(img, (0, 0), look.blur)
    if look.motion_blur > 0:  # horizontal motion blur
        k = look.motion_blur
        kernel = np.zeros((k, k), np.float32)
        kernel[k // 2] = 1.0 / k
        img = cv2.filter2D(img, -1, kernel)
    img = img * look.cast
    img = 255.0 * (np.clip(img, 0, 255) / 255.0) ** look.gamma
    img = img + rng.normal(0, look.noise_sd, img.shape).astype(np.float32)
    return img
