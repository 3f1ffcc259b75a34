"""Articulated 2D quadruped: species, gait-driven rig, parts with depth order.

The rig lives in a *canonical frame*: units of torso length, y up, the animal
facing +x, standing on y = 0.  A camera (scale, rotation, translation, facing)
maps it into the image.  Seen facing +x the animal's right side is the near
side (its left side faces away from the camera); facing -x it is the left.

Named rig points (a superset of the TigDog 18 and Animal-Pose 20 joints):
``l_eye r_eye chin nose l_earbase r_earbase throat withers hip neck`` and per
side ``{s}_shoulder {s}_front_elbow {s}_front_knee {s}_front_hoof
{s}_back_top {s}_back_elbow {s}_back_knee {s}_back_hoof``.  ``hip`` is the
TigDog joint 7 (root of the tail, = Animal-Pose ``tailbase``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Tuple

import numpy as np

from .canvas import Part, capsule, ellipse, transform_points

# depth layers, back to front
L_FAR_BACK, L_FAR_FRONT, L_FAR_EAR, L_TAIL, L_TORSO, L_NECK, L_HEAD, L_NEAR_EAR, L_NEAR_BACK, L_NEAR_FRONT = range(10)
NUM_LAYERS = 10


@dataclass(frozen=True)
class Species:
    """Body proportions (torso length = 1) and coat of one species."""
    name: str
    torso_h: float
    leg: Tuple[float, float, float]          # upper, middle, lower segment lengths
    leg_w: Tuple[float, float, float]        # segment radii at the top of each segment
    neck_len: float
    neck_w: float
    neck_angle: float                        # degrees above horizontal
    head_len: float
    head_w: float
    head_angle: float                        # degrees, negative = nose down
    tail_len: float
    tail_w: float
    tail_angle: float                        # degrees, 180 = straight back
    ear_len: float
    coat: Tuple[Tuple[int, int, int], ...]   # candidate RGB base colours (real domain)
    synth_coat: Tuple[int, int, int]         # flat CAD colour (synthetic domain)
    belly: Tuple[int, int, int]
    pattern: str                             # plain | stripes | spots | patches | wool
    stride: float = 0.45                     # gait swing amplitude (radians)
    vertex_ids: str = "horse"                # CC-SSL mesh vertex-id table used for P_kpts.npy


SPECIES: Dict[str, Species] = {
    s.name: s for s in (
        Species("horse", 0.42, (0.36, 0.34, 0.30), (0.10, 0.055, 0.04), 0.62, 0.13, 52, 0.48, 0.14, -55,
                0.55, 0.05, 235, 0.10, ((120, 72, 40), (85, 50, 30), (150, 110, 70), (60, 40, 30)),
                (170, 160, 150), (200, 170, 140), "plain", 0.45, "horse"),
        Species("tiger", 0.36, (0.26, 0.24, 0.14), (0.10, 0.07, 0.055), 0.26, 0.16, 25, 0.33, 0.17, -15,
                0.85, 0.04, 200, 0.07, ((215, 120, 35), (200, 105, 30), (225, 140, 60)),
                (205, 140, 80), (240, 230, 210), "stripes", 0.5, "tiger"),
        Species("dog", 0.38, (0.28, 0.27, 0.17), (0.085, 0.05, 0.04), 0.34, 0.12, 42, 0.36, 0.13, -25,
                0.42, 0.035, 140, 0.12, ((150, 100, 50), (40, 35, 30), (200, 180, 150), (120, 80, 45)),
                (160, 150, 140), (220, 210, 190), "patches", 0.5, "hound"),
        Species("cat", 0.34, (0.24, 0.23, 0.14), (0.07, 0.045, 0.035), 0.20, 0.11, 35, 0.26, 0.14, -10,
                0.75, 0.03, 120, 0.10, ((120, 120, 120), (200, 140, 70), (50, 45, 40)),
                (150, 150, 155), (225, 225, 220), "stripes", 0.5, "tiger"),
        Species("sheep", 0.55, (0.22, 0.22, 0.16), (0.07, 0.04, 0.035), 0.22, 0.15, 35, 0.32, 0.14, -40,
                0.15, 0.05, 230, 0.08, ((225, 220, 205), (205, 200, 185)), (200, 200, 195), (240, 235, 225),
                "wool", 0.35, "sheep"),
        Species("cow", 0.55, (0.30, 0.28, 0.20), (0.12, 0.07, 0.05), 0.30, 0.18, 25, 0.40, 0.18, -50,
                0.50, 0.03, 260, 0.09, ((240, 240, 235), (110, 70, 45), (40, 35, 35)),
                (175, 165, 160), (235, 230, 225), "patches", 0.35, "horse"),
    )
}


def get_species(name: str) -> Species:
    try:
        return SPECIES[name]
    except KeyError:
        raise KeyError(f"unknown species {name!r}; known: {', '.join(sorted(SPECIES))}") from None


@dataclass
class Pose:
    """Articulation of one frame: gait phase plus per-part angle offsets (radians)."""
    phase: float = 0.0                 # gait cycle position in [0, 1)
    gait: str = "walk"                 # walk | trot | gallop | stand
    pitch: float = 0.0                 # torso pitch
    neck: float = 0.0                  # neck angle offset
    head: float = 0.0                  # head angle offset
    tail: float = 0.0                  # tail angle offset
    leg_jitter: np.ndarray = field(default_factory=lambda: np.zeros((4, 3)))  # (leg, segment)


_GAIT_OFFSETS = {  # phase offset of legs: near-back, near-front, far-back, far-front
    "walk": (0.0, 0.25, 0.5, 0.75), "trot": (0.0, 0.5, 0.5, 0.0),
    "gallop": (0.0, 0.6, 0.1, 0.7), "stand": (0.0, 0.0, 0.0, 0.0),
}
_GAIT_GAIN = {"walk": 1.0, "trot": 1.2, "gallop": 1.6, "stand": 0.0}


def random_pose(rng: np.random.Generator, phase: float | None = None, gait: str | None = None) -> Pose:
    gait = gait or str(rng.choice(["walk", "walk", "trot", "gallop", "stand"]))
    return Pose(
        phase=float(rng.random() if phase is None else phase), gait=gait,
        pitch=float(rng.normal(0, 0.05)), neck=float(rng.normal(0, 0.25)), head=float(rng.normal(0, 0.2)),
        tail=float(rng.normal(0, 0.3)), leg_jitter=rng.normal(0, 0.12, (4, 3)),
    )


def _leg(top, lengths, angles) -> List[np.ndarray]:
    """Chain of points from ``top`` with absolute segment angles (0 = straight down, + = forward)."""
    pts = [np.asarray(top, np.float64)]
    for l, a in zip(lengths, angles):
        pts.append(pts[-1] + l * np.array([np.sin(a), -np.cos(a)]))
    return pts


def rig_points(sp: Species, pose: Pose) -> Dict[str, np.ndarray]:
    """Canonical rig points (name -> ``(2,)``), sides still called ``near``/``far``;
    names starting with ``_`` are construction points, not keypoints."""
    l1, l2, l3 = sp.leg
    height = l1 + l2 + l3 * 0.95
    th = sp.torso_h
    c, s = np.cos(pose.pitch), np.sin(pose.pitch)
    rot = np.array([[c, -s], [s, c]])
    centre = np.array([0.0, height + 0.12 * th])

    def body(x, y):  # torso-frame point (x along body, y up) -> canonical
        return centre + rot @ np.array([x, y])

    P: Dict[str, np.ndarray] = {}
    P["withers"] = body(0.26, 0.5 * th)
    P["hip"] = body(-0.47, 0.28 * th)
    neck_base = body(0.40, 0.18 * th)
    far = np.array([0.035, 0.03])  # perspective offset of the far side (slightly up / forward)
    gain = _GAIT_GAIN[pose.gait] * sp.stride
    for side, off in (("near", np.zeros(2)), ("far", far)):
        k = 0 if side == "near" else 2
        for leg, top, base in (("front", body(0.30, -0.12 * th), (0.05, -0.10, 0.08)),
                               ("back", body(-0.33, -0.05 * th), (0.28, -0.42, 0.20))):
            i = k + (1 if leg == "front" else 0)
            psi = 2 * np.pi * (pose.phase + _GAIT_OFFSETS[pose.gait][i])
            swing = gain * np.sin(psi)
            lift = gain * max(0.0, np.cos(psi)) * 1.4
            j = pose.leg_jitter[i]
            if leg == "front":
                a1 = base[0] + swing + j[0]
                a2 = a1 + base[1] - lift + j[1]
                a3 = a2 + base[2] + 0.5 * lift + j[2]
            else:
                a1 = base[0] + swing + j[0]
                a2 = a1 + base[1] - 0.6 * lift + j[1]
                a3 = a2 + base[2] + 0.8 * lift + j[2]
            a = np.array([a1, a2, a3]) + pose.pitch
            chain = _leg(top + off, sp.leg, a)
            names = (["shoulder", "front_elbow", "front_knee", "front_hoof"] if leg == "front"
                     else ["back_top", "back_elbow", "back_knee", "back_hoof"])
            for n, p in zip(names, chain):
                P[f"{side}_{n}"] = p
    na = np.deg2rad(sp.neck_angle) + pose.neck + pose.pitch
    head_base = neck_base + sp.neck_len * np.array([np.cos(na), np.sin(na)])
    P["neck"] = 0.5 * (neck_base + head_base)
    P["_neck_base"], P["_head_base"] = neck_base, head_base
    ha = np.deg2rad(sp.head_angle) + pose.head + 0.5 * pose.neck + pose.pitch
    u = np.array([np.cos(ha), np.sin(ha)])
    n = np.array([-u[1], u[0]])  # "up" side of the head
    hl, hw = sp.head_len, sp.head_w
    P["nose"] = head_base + hl * u
    P["chin"] = head_base + 0.72 * hl * u - 0.42 * hw * n
    P["near_eye"] = head_base + 0.38 * hl * u + 0.30 * hw * n
    P["far_eye"] = P["near_eye"] + 0.05 * hl * u + 0.12 * hw * n
    P["near_earbase"] = head_base + 0.05 * hl * u + 0.55 * hw * n
    P["far_earbase"] = P["near_earbase"] + 0.10 * hl * u + 0.08 * hw * n
    P["throat"] = head_base - 0.55 * hw * n + 0.05 * hl * u
    ta = np.deg2rad(sp.tail_angle) + pose.tail
    P["_tail_mid"] = P["hip"] + 0.5 * sp.tail_len * np.array([np.cos(ta), np.sin(ta)])
    ta2 = ta + 0.4 * np.sign(np.sin(ta) + 1e-6) * (-1) + 0.3 * pose.tail
    P["_tail_end"] = P["_tail_mid"] + 0.5 * sp.tail_len * np.array([np.cos(ta2), np.sin(ta2)])
    P["_u"], P["_n"] = u, n
    P["_centre"], P["_pitch"] = centre, np.array([pose.pitch, 0.0])
    return P


# owner layer of every named point (near/far before naming)
_OWNER = {
    "withers": L_NECK, "hip": L_TORSO, "neck": L_NECK, "nose": L_HEAD, "chin": L_HEAD, "throat": L_HEAD,
    "near_eye": L_HEAD, "far_eye": L_NECK, "near_earbase": L_NEAR_EAR, "far_earbase": L_FAR_EAR,
}
for _s, _fl, _bl in (("near", L_NEAR_FRONT, L_NEAR_BACK), ("far", L_FAR_FRONT, L_FAR_BACK)):
    for _n in ("shoulder", "front_elbow", "front_knee", "front_hoof"):
        _OWNER[f"{_s}_{_n}"] = _fl
    for _n in ("back_top", "back_elbow", "back_knee", "back_hoof"):
        _OWNER[f"{_s}_{_n}"] = _bl


def canonical_parts(sp: Species, P: Dict[str, np.ndarray]) -> List[Part]:
    """Body parts as canonical-frame polygons with depth layers and shading."""
    parts: List[Part] = []
    w1, w2, w3 = sp.leg_w
    for side, shade in (("far", 0.72), ("near", 1.0)):
        for leg, layer in (("front", L_FAR_FRONT if side == "far" else L_NEAR_FRONT),
                           ("back", L_FAR_BACK if side == "far" else L_NEAR_BACK)):
            names = (["shoulder", "front_elbow", "front_knee", "front_hoof"] if leg == "front"
                     else ["back_top", "back_elbow", "back_knee", "back_hoof"])
            pts = [P[f"{side}_{n}"] for n in names]
            top_w = w1 * (1.5 if leg == "back" else 1.25)
            radii = [(top_w, w2), (w2, w3), (w3, w3 * 0.9)]
            for k in range(3):
                parts.append(Part(f"{side}_{leg}_{k}", capsule(pts[k], pts[k + 1], *radii[k]), layer, shade))
    th = sp.torso_h
    parts.append(Part("torso", ellipse(P["_centre"], (0.55, th / 2), P["_pitch"][0]), L_TORSO, 1.0))
    parts.append(Part("rump", ellipse(P["hip"] + np.array([0.05, -0.12 * th]), (0.14, th * 0.36), 0.0), L_TORSO, 1.0))
    parts.append(Part("tail0", capsule(P["hip"], P["_tail_mid"], sp.tail_w * 1.4, sp.tail_w), L_TAIL, 0.9))
    parts.append(Part("tail1", capsule(P["_tail_mid"], P["_tail_end"], sp.tail_w, sp.tail_w * 0.6), L_TAIL, 0.9))
    parts.append(Part("neck", capsule(P["_neck_base"], P["_head_base"], sp.neck_w * 1.5, sp.neck_w), L_NECK, 0.95))
    hb, u, n = P["_head_base"], P["_u"], P["_n"]
    parts.append(Part("head", capsule(hb, P["nose"] - 0.08 * sp.head_len * u, sp.head_w * 0.6, sp.head_w * 0.38),
                      L_HEAD, 1.05))
    for side, layer, shade in (("far", L_FAR_EAR, 0.75), ("near", L_NEAR_EAR, 1.0)):
        b = P[f"{side}_earbase"]
        tip = b + sp.ear_len * (0.95 * n - 0.35 * u)
        parts.append(Part(f"{side}_ear", np.stack([b - 0.035 * u, tip, b + 0.045 * u + 0.01 * n]), layer, shade))
    return parts


def name_sides(P: Dict[str, np.ndarray], facing: int) -> Dict[str, np.ndarray]:
    """Rename ``near``/``far`` to anatomical ``r``/``l``: facing +x the right side is near."""
    near, far = ("r", "l") if facing > 0 else ("l", "r")
    out = {}
    for k, v in P.items():
        if k.startswith("near_"):
            out[f"{near}_{k[5:]}"] = v
        elif k.startswith("far_"):
            out[f"{far}_{k[4:]}"] = v
        else:
            out[k] = v
    return out


def owner_layers(facing: int) -> Dict[str, int]:
    return name_sides({k: v for k, v in _OWNER.items()}, facing)


def camera_affine(scale: float, rotation_deg: float, translation, facing: int) -> np.ndarray:
    """``2x3`` affine canonical (y up, units) -> image pixels (y down)."""
    th = np.deg2rad(rotation_deg)
    c, s = np.cos(th), np.sin(th)
    lin = scale * np.array([[c, -s], [s, c]]) @ np.diag([float(facing), -1.0])
    return np.concatenate([lin, np.asarray(translation, np.float64).reshape(2, 1)], 1)


@dataclass
class PosedAnimal:
    """A quadruped placed in an image: named image points, parts, owner layers."""
    species: Species
    points: Dict[str, np.ndarray]      # anatomical names -> (2,) image pixels
    owners: Dict[str, int]
    parts: List[Part]                  # image-space polygons
    affine: np.ndarray                 # canonical -> image
    facing: int


def pose_animal(sp: Species, pose: Pose, scale: float, rotation: float, translation, facing: int,
                layer_offset: int = 0) -> PosedAnimal:
    P = rig_points(sp, pose)
    A = camera_affine(scale, rotation, translation, facing)
    parts = [Part(p.name, transform_points(p.polygon, A), p.layer + layer_offset, p.shade)
             for p in canonical_parts(sp, P)]
    named = name_sides({k: v for k, v in P.items() if not k.startswith("_")}, facing)
    pts = {k: transform_points(v, A) for k, v in named.items()}
    owners = {k: v + layer_offset for k, v in owner_layers(facing).items()}
    return PosedAnimal(sp, pts, owners, parts, A, facing)


def canonical_extent(sp: Species) -> Tuple[float, float, float, float]:
    """Rough canonical bounding box ``x0, y0, x1, y1`` of a standing animal (for framing)."""
    P = rig_points(sp, Pose(gait="stand"))
    arr = np.stack([v for k, v in P.items() if not k.startswith("_") or k in ("_tail_end",)])
    pad = 0.08
    return (float(arr[:, 0].min() - pad - 0.1), float(arr[:, 1].min() - pad),
            float(arr[:, 0].max() + pad), float(arr[:, 1].max() + pad + 0.1))
