"""Compose posed quadrupeds, background and occluders into one image.

``render_scene`` is the single drawing entry point used by every animal
writer (synthetic CC-SSL images, TigDog video frames, Animal-Pose images).
It returns the picture and, for every animal, its named keypoints with the
visibility that the layer map (depth order of all parts, other animals and
foreground occluders included) implies.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Union

import numpy as np

from animalpose.keypoints import get_spec

from .appearance import (Coat, Look, background, degrade, ground_shadow, lighting, make_coat, occluder_layer,
                         random_look, warp_coat)
from .canvas import Part, paint_layers, shade_map, to_uint8, visibility
from .quadruped import NUM_LAYERS, PosedAnimal, Species, canonical_extent, pose_animal

OCCLUDER_LAYER = 1000

# Animal-Pose 20 joint name -> rig point name
_AP_TO_RIG = {
    "l_eye": "l_eye", "r_eye": "r_eye", "nose": "nose", "l_earbase": "l_earbase", "r_earbase": "r_earbase",
    "throat": "throat", "withers": "withers", "tailbase": "hip",
}
for _s in "lr":
    for _f, _full in (("f", "front"), ("b", "back")):
        _AP_TO_RIG[f"{_s}_{_f}_elbow"] = f"{_s}_{_full}_elbow"
        _AP_TO_RIG[f"{_s}_{_f}_knee"] = f"{_s}_{_full}_knee"
        _AP_TO_RIG[f"{_s}_{_f}_paw"] = f"{_s}_{_full}_hoof"
# AP-10K 17 joint name -> rig point name (front leg: shoulder, elbow, paw; back leg: hip, knee, paw)
_AP10K_TO_RIG = {"l_eye": "l_eye", "r_eye": "r_eye", "nose": "nose", "neck": "neck", "root_of_tail": "hip"}
for _s in "lr":
    _AP10K_TO_RIG.update({f"{_s}_shoulder": f"{_s}_shoulder", f"{_s}_elbow": f"{_s}_front_elbow",
                          f"{_s}_f_paw": f"{_s}_front_hoof", f"{_s}_hip": f"{_s}_back_top",
                          f"{_s}_knee": f"{_s}_back_knee", f"{_s}_b_paw": f"{_s}_back_hoof"})
#: rig point names of each animal spec's joints, in spec order
RIG_NAMES: Dict[str, List[str]] = {
    "tigdog18": list(get_spec("tigdog18").joints),
    "animalpose20": [_AP_TO_RIG[j] for j in get_spec("animalpose20").joints],
    "ap10k17": [_AP10K_TO_RIG[j] for j in get_spec("ap10k17").joints],
}


@dataclass
class Camera:
    scale: float          # pixels per canonical unit (torso length)
    rotation: float       # degrees
    translation: np.ndarray
    facing: int           # +1 facing image right, -1 facing left


@dataclass
class AnimalInScene:
    """One rendered animal: image-space points, their visibility and silhouette."""
    species: str
    posed: PosedAnimal
    points: Dict[str, np.ndarray]
    visible: Dict[str, bool]
    mask: np.ndarray

    def keypoints(self, spec: str) -> np.ndarray:
        """``(K, 3)`` float32 ``x, y, visible`` in the order of ``spec``."""
        names = RIG_NAMES[spec]
        xy = np.stack([self.points[n] for n in names]).astype(np.float32)
        v = np.array([self.visible[n] for n in names], np.float32)
        return np.concatenate([xy, v[:, None]], 1)

    def bbox(self) -> Optional[np.ndarray]:
        """``x1, y1, x2, y2`` of the visible silhouette, or None when nothing shows."""
        ys, xs = np.nonzero(self.mask)
        if len(xs) == 0:
            return None
        return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32)


@dataclass
class Scene:
    image: np.ndarray               # (H, W, 3) uint8 RGB
    layer_map: np.ndarray           # (H, W) int16
    animals: List[AnimalInScene]
    parts: List[Part]
    look: Optional[Look] = None     # the real domain's light and camera (None: synthetic)


def random_camera(rng: np.random.Generator, sp: Species, size, fill=(0.45, 0.85),
                  rotation_sd: float = 10.0, inside: float = 1.0) -> Camera:
    """Random framing: the animal spans ``fill`` of the image, rotated ~N(0, sd),
    facing left or right; ``inside < 1`` lets part of it leave the frame."""
    w, h = size
    x0, y0, x1, y1 = canonical_extent(sp)
    ew, eh = x1 - x0, y1 - y0
    scale = min(rng.uniform(*fill) * w / ew, 0.95 * h / eh)
    facing = 1 if rng.random() < 0.5 else -1
    rot = float(np.clip(rng.normal(0, rotation_sd), -3 * rotation_sd, 3 * rotation_sd))
    half_w, half_h = 0.5 * ew * scale, 0.5 * eh * scale
    slack_x = max(0.0, w / 2 - half_w * inside)
    slack_y = max(0.0, h / 2 - half_h * inside)
    cx = w / 2 + rng.uniform(-slack_x, slack_x)
    cy = h / 2 + rng.uniform(-slack_y, slack_y)
    # translation maps the canonical extent centre to (cx, cy)
    ec = np.array([(x0 + x1) / 2 * facing, -(y0 + y1) / 2]) * scale
    th = np.deg2rad(rot)
    R = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    t = np.array([cx, cy]) - R @ ec
    return Camera(float(scale), rot, t, facing)


def render_scene(rng: np.random.Generator, size, domain: str,
                 animals: Sequence[tuple], bg: Optional[np.ndarray] = None,
                 occluders: Union[None, bool, Sequence[np.ndarray]] = None,
                 look: Optional[Look] = None, occluder_texture: Optional[np.ndarray] = None) -> Scene:
    """Render animals into one image.

    Args:
        size: ``(w, h)``.
        domain: ``"synthetic"`` or ``"real"``.
        animals: tuples ``(species, pose, camera, coat)`` (coat None = new random coat),
            listed back to front.
        bg: optional ``(h, w, 3)`` float background (videos pass a panned crop).
        occluders: draw random foreground occluders (default: real domain only), or the
            occluder polygons themselves (videos pass the shot's, panned with the background).
        look: the real domain's light and camera (default: a new random one); videos pass the
            shot's, so that only the sensor noise changes from frame to frame.
        occluder_texture: optional ``(h, w)`` brightness of the occluder pixels (videos pass the
            shot's, panned); default a new random one.
    """
    w, h = size
    if bg is None:
        bg = background(rng, h, w, domain)
    img = np.array(bg, np.float32, copy=True)
    posed: List[PosedAnimal] = []
    coats: List[Coat] = []
    parts: List[Part] = []
    for i, (sp, pose, cam, coat) in enumerate(animals):
        pa = pose_animal(sp, pose, cam.scale, cam.rotation, cam.translation, cam.facing, layer_offset=i * NUM_LAYERS)
        posed.append(pa)
        coats.append(coat if coat is not None else make_coat(sp, rng, domain))
        parts.extend(pa.parts)
    real = domain == "real"
    if real and look is None:
        look = random_look(rng)
    if occluders is None:
        occluders = real
    if occluders is True:
        occluders = [poly for pa in posed for poly in occluder_layer(rng, h, w, animal_region(pa))]
    for k, poly in enumerate(occluders or []):
        parts.append(Part(f"occluder{k}", np.asarray(poly, np.float64), OCCLUDER_LAYER + k, 1.0))
    layer_map = paint_layers((h, w), parts)
    shade = shade_map(layer_map, parts)
    if real:
        for pa in posed:
            feet = np.stack([v for k, v in pa.points.items() if k.endswith("hoof")])
            scale = float(np.hypot(*pa.affine[:, 0]))
            ground_shadow(img, feet.mean(0) + [0, 2], float(np.ptp(feet[:, 0]) + 0.3 * scale), look.shadow)
    result: List[AnimalInScene] = []
    for i, (pa, coat) in enumerate(zip(posed, coats)):
        lo = i * NUM_LAYERS
        m = (layer_map >= lo) & (layer_map < lo + NUM_LAYERS)
        if m.any():
            tex = warp_coat(coat, pa.affine, (w, h))
            light = lighting(look, h, w, m) if real else np.ones((h, w), np.float32)
            img[m] = (tex * (shade * light)[..., None])[m]
        names = list(pa.points)
        vis = visibility(np.stack([pa.points[n] for n in names]), np.array([pa.owners[n] for n in names]), layer_map)
        result.append(AnimalInScene(pa.species.name, pa, dict(pa.points),
                                    dict(zip(names, vis.tolist())), m))
    occ = layer_map >= OCCLUDER_LAYER
    if occ.any():
        col = look.occluder_colour if look is not None else rng.uniform([30, 60, 20], [120, 150, 70])
        noise = (occluder_texture if occluder_texture is not None
                 else rng.uniform(0.6, 1.3, (h, w))).astype(np.float32)
        img[occ] = (col[None, :] * noise[occ][:, None]).astype(np.float32)
    if real:
        img = degrade(img, look, rng)
    return Scene(to_uint8(img), layer_map, result, parts, look)


def animal_region(pa: PosedAnimal) -> tuple:
    """``x0, y0, x1, y1`` image extent of a posed animal's parts."""
    allp = np.concatenate([p.polygon for p in pa.parts])
    return (*allp.min(0), *allp.max(0))


def sample_vertices(rng: np.random.Generator, animal: AnimalInScene, count: int) -> np.ndarray:
    """``(count, 3)`` mesh-like surface points ``x, y, layer`` spread over the parts
    (area-weighted, uniform inside each convex part polygon)."""
    polys = [(p.polygon, p.layer) for p in animal.posed.parts]
    tris, layers, areas = [], [], []
    for poly, layer in polys:
        a = poly[0]
        for b, c in zip(poly[1:-1], poly[2:]):
            tris.append((a, b, c))
            layers.append(layer)
            areas.append(0.5 * abs((b[0] - a[0]) * (c[1] - a[1]) - (c[0] - a[0]) * (b[1] - a[1])))
    tris = np.asarray(tris)
    areas = np.asarray(areas) + 1e-9
    pick = rng.choice(len(tris), size=count, p=areas / areas.sum())
    r1, r2 = rng.random(count), rng.random(count)
    s1 = np.sqrt(r1)
    t = tris[pick]
    pts = (1 - s1)[:, None] * t[:, 0] + (s1 * (1 - r2))[:, None] * t[:, 1] + (s1 * r2)[:, None] * t[:, 2]
    return np.concatenate([pts, np.asarray(layers)[pick][:, None]], 1)
