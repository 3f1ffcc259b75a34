"""Procedural 2D articulated humans with the 17 COCO keypoints.

A person is a small 3D stick rig in a body frame (``X`` = the person's own
LEFT, ``Y`` = down, ``Z`` = forward, units = standing height), rotated about
the vertical axis by ``yaw`` and projected orthographically:

    image x = X cos(yaw) + Z sin(yaw),  depth = X sin(yaw) - Z cos(yaw)

so ``yaw = 0`` faces the camera (the person's left side lands on the image
right), ``yaw = 180`` faces away (left on the image left) and ``yaw = +90``
faces the image right.  Parts (torso, head, limbs) are capsules / ellipses
ordered back to front by their projected depth and painted into a layer map
(:func:`datasets.render.canvas.paint_layers`); each keypoint has an owner
layer and :func:`datasets.render.canvas.visibility` decides whether it is
seen.  Face keypoints on the far side of the head get an owner layer just
below the head, so a person seen from the back has occluded nose and eyes.

Several people share one layer map: person ``i`` in back-to-front order owns
layers ``[i * LAYERS_PER_PERSON, (i + 1) * LAYERS_PER_PERSON)``.

Public entry points: :class:`HumanParams`, :func:`random_human`,
:func:`pose_human` (geometry only) and :func:`render_people` (image,
COCO keypoints and per-person visible silhouettes).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from animalpose.keypoints import get_spec

from . import canvas

__all__ = [
    "LAYERS_PER_PERSON", "POSE_KINDS", "DEFAULT_SHAPE", "DEFAULT_POSE", "Look", "HumanParams", "Rig",
    "Scene", "random_look", "random_pose", "random_shape", "random_yaw", "random_human", "pose_human",
    "render_people",
]

SPEC = get_spec("coco17")
J = {name: i for i, name in enumerate(SPEC.joints)}
LAYERS_PER_PERSON = 40
POSE_KINDS = ("standing", "walking", "arms_raised", "crouching")

#: Body proportions as fractions of the standing height.
DEFAULT_SHAPE: Dict[str, float] = dict(
    torso=0.30, shoulder=0.125, hip=0.085, waist=0.095, thick=0.13, neck=0.05, head=0.068,
    upper_arm=0.175, forearm=0.15, hand=0.075, thigh=0.245, shin=0.24, foot=0.11,
    arm_r=0.033, leg_r=0.048,
)
#: Joint angles in degrees (``l_``/``r_`` = the person's left / right).
#: ``*_abd``: sideways raise, ``*_flex``: forward raise (180 = straight up),
#: ``*_elbow`` / ``*_knee``: bend, ``*_twist``: elbow bend direction
#: (0 = forward, 90 = outward, i.e. up for an arm raised sideways), ``lean``: torso forward lean, ``head_yaw`` /
#: ``head_pitch``: head turn / nod.
DEFAULT_POSE: Dict[str, float] = dict(
    l_sh_abd=8.0, l_sh_flex=0.0, l_elbow=10.0, l_twist=0.0,
    r_sh_abd=8.0, r_sh_flex=0.0, r_elbow=10.0, r_twist=0.0,
    l_hip_abd=3.0, l_hip_flex=0.0, l_knee=3.0,
    r_hip_abd=3.0, r_hip_flex=0.0, r_knee=3.0,
    lean=0.0, head_yaw=0.0, head_pitch=0.0,
)


@dataclass
class Look:
    """Colours (RGB 0..255) and clothing options of one person."""
    skin: Tuple[float, float, float] = (224.0, 172.0, 140.0)
    hair: Tuple[float, float, float] = (60.0, 40.0, 25.0)
    shirt: Tuple[float, float, float] = (40.0, 90.0, 170.0)
    pants: Tuple[float, float, float] = (50.0, 50.0, 60.0)
    shoes: Tuple[float, float, float] = (30.0, 25.0, 25.0)
    long_sleeves: bool = True
    shorts: bool = False
    texture: float = 0.35   # amplitude of the fbm cloth texture
    stripes: float = 0.0    # amplitude of shirt stripes (0 = plain)


@dataclass
class HumanParams:
    """Everything that defines one rendered person.

    Attributes:
        root: pelvis centre ``(x, y)`` in image pixels.
        height: standing height in pixels (body-frame unit).
        yaw: degrees; 0 faces the camera, 180 faces away, +90 faces image right.
        roll: in-plane tilt in degrees (about ``root``).
        depth: distance from the camera; larger = farther = painted first.
        pose: joint angles overriding :data:`DEFAULT_POSE`.
        shape: proportions overriding :data:`DEFAULT_SHAPE`.
        look: colours and clothing.
    """
    root: Tuple[float, float]
    height: float
    yaw: float = 0.0
    roll: float = 0.0
    depth: float = 0.0
    pose: Dict[str, float] = field(default_factory=dict)
    shape: Dict[str, float] = field(default_factory=dict)
    look: Look = field(default_factory=Look)


@dataclass
class Rig:
    """Projected geometry of one person (image pixels).

    Attributes:
        joints: ``(17, 2)`` COCO keypoint positions.
        owners: ``(17,)`` int local owner layer of each keypoint.
        parts: local-layer :class:`canvas.Part` list (layers in ``[2, LAYERS_PER_PERSON)``).
        materials: material name per part (``skin``, ``shirt``, ``pants``, ``shoes``).
        head: ``(cx, cy, rx, ry, angle_rad, yaw_deg, head_layer)`` for hair shading.
    """
    joints: np.ndarray
    owners: np.ndarray
    parts: List[canvas.Part]
    materials: List[str]
    head: Tuple[float, ...]


@dataclass
class Scene:
    """Output of :func:`render_people` for ``N`` people.

    Attributes:
        image: ``(H, W, 3)`` uint8 RGB.
        keypoints: ``(N, 17, 3)`` float64 COCO ``x, y, v`` (v: 2 visible, 1 occluded
            inside the image, 0 outside with ``x = y = 0``), in input order.
        masks: ``(N, H, W)`` bool visible silhouettes (after occlusion).
        full_areas: ``(N,)`` pixel count of each person drawn alone (clipped to the image).
        layer_map: ``(H, W)`` int16 front-most layer (-1 background).
        rigs: per-person :class:`Rig` (local layers), in input order.
    """
    image: np.ndarray
    keypoints: np.ndarray
    masks: np.ndarray
    full_areas: np.ndarray
    layer_map: np.ndarray
    rigs: List[Rig]


# --------------------------------------------------------------------------
# random parameters
# --------------------------------------------------------------------------
_SKIN = np.array([[255, 219, 172], [241, 194, 125], [224, 172, 105], [198, 134, 66],
                  [141, 85, 36], [92, 58, 32], [233, 190, 160]], np.float64)
_HAIR = np.array([[20, 15, 12], [60, 40, 25], [110, 75, 40], [180, 140, 80],
                  [200, 190, 170], [120, 40, 20]], np.float64)


def random_look(rng: np.random.Generator) -> Look:
    """Random skin / hair / clothing colours."""
    skin = _SKIN[rng.integers(len(_SKIN))] * rng.uniform(0.9, 1.05)
    hair = _HAIR[rng.integers(len(_HAIR))] * rng.uniform(0.8, 1.2)

    def cloth():
        hsv = np.uint8([[[rng.integers(0, 180), rng.integers(20, 255), rng.integers(40, 245)]]])
        return tuple(float(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0])

    return Look(
        skin=tuple(np.clip(skin, 0, 255)), hair=tuple(np.clip(hair, 0, 255)),
        shirt=cloth(), pants=cloth(), shoes=tuple(float(v) for v in rng.uniform(15, 90, 3)),
        long_sleeves=bool(rng.random() < 0.55), shorts=bool(rng.random() < 0.25),
        texture=float(rng.uniform(0.1, 0.45)), stripes=float(rng.uniform(0.15, 0.35) if rng.random() < 0.25 else 0.0),
    )


def random_shape(rng: np.random.Generator) -> Dict[str, float]:
    """Random proportions around :data:`DEFAULT_SHAPE` (build and limb-length jitter)."""
    build = rng.uniform(0.85, 1.2)
    s = {k: v * rng.uniform(0.93, 1.07) for k, v in DEFAULT_SHAPE.items()}
    for k in ("shoulder", "hip", "waist", "thick", "arm_r", "leg_r"):
        s[k] *= build
    s["head"] *= rng.uniform(0.92, 1.1)
    return s


def random_pose(rng: np.random.Generator, kind: Optional[str] = None) -> Dict[str, float]:
    """Plausible joint angles (degrees) for ``kind`` in :data:`POSE_KINDS` (random if None)."""
    kind = kind or POSE_KINDS[int(rng.choice(len(POSE_KINDS), p=[0.35, 0.3, 0.2, 0.15]))]
    u = rng.uniform
    p = dict(DEFAULT_POSE)
    for s in "lr":
        p[f"{s}_sh_abd"] = u(3, 25)
        p[f"{s}_sh_flex"] = u(-15, 20)
        p[f"{s}_elbow"] = u(0, 35)
        p[f"{s}_twist"] = u(-10, 30)
        p[f"{s}_hip_abd"] = u(0, 9)
        p[f"{s}_hip_flex"] = u(-6, 8)
        p[f"{s}_knee"] = u(0, 12)
    p["lean"] = u(-4, 8)
    p["head_yaw"] = u(-25, 25)
    p["head_pitch"] = u(-12, 12)
    if kind == "walking":
        swing = u(15, 35) * (1 if rng.random() < 0.5 else -1)
        p["l_hip_flex"], p["r_hip_flex"] = swing, -swing * u(0.6, 1.0)
        back = "r" if swing > 0 else "l"
        p[f"{back}_knee"] = u(15, 45)
        p["l_sh_flex"], p["r_sh_flex"] = -swing * u(0.6, 1.2), swing * u(0.6, 1.2)
        p["l_elbow"], p["r_elbow"] = u(10, 45), u(10, 45)
    elif kind == "arms_raised":
        for s in "lr":
            if rng.random() < 0.8:
                if rng.random() < 0.5:
                    p[f"{s}_sh_abd"], p[f"{s}_sh_flex"] = u(60, 170), u(-10, 20)
                else:
                    p[f"{s}_sh_abd"], p[f"{s}_sh_flex"] = u(5, 30), u(70, 170)
                p[f"{s}_elbow"] = u(0, 100)
                p[f"{s}_twist"] = u(40, 100)
    elif kind == "crouching":
        hip = u(55, 110)
        for s in "lr":
            p[f"{s}_hip_flex"] = hip + u(-10, 10)
            p[f"{s}_hip_abd"] = u(5, 20)
            p[f"{s}_knee"] = p[f"{s}_hip_flex"] + u(-5, 45)
            p[f"{s}_sh_flex"] = u(0, 70)
            p[f"{s}_elbow"] = u(10, 90)
        p["lean"] = u(10, 40)
    return p


def random_yaw(rng: np.random.Generator) -> float:
    """Facing: front, back, 3/4 (front or back) or, rarely, profile; degrees."""
    centre = [0.0, 180.0, 45.0, -45.0, 135.0, -135.0, 90.0, -90.0][
        int(rng.choice(8, p=[0.3, 0.15, 0.13, 0.13, 0.08, 0.08, 0.065, 0.065]))]
    return float(centre + rng.uniform(-15, 15))


def random_human(rng: np.random.Generator, root, height: float, depth: float = 0.0,
                 yaw: Optional[float] = None, kind: Optional[str] = None) -> HumanParams:
    """A random person with pelvis at ``root`` (px) and standing ``height`` (px)."""
    return HumanParams(
        root=(float(root[0]), float(root[1])), height=float(height),
        yaw=random_yaw(rng) if yaw is None else float(yaw), roll=float(rng.uniform(-6, 6)),
        depth=float(depth), pose=random_pose(rng, kind), shape=random_shape(rng), look=random_look(rng))


# --------------------------------------------------------------------------
# geometry
# --------------------------------------------------------------------------
def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-12)


def _limb_frame(side: float, abd: float, flex: float):
    """Limb direction ``u``, hinge axis ``h`` and bend direction ``w = h x u`` (unit, body frame).

    ``u`` is straight down at ``abd = flex = 0``, outward at ``abd = 90`` and
    forward at ``flex = 90`` (sideways raise, then forward raise); the hinge
    axis is the rotated body X axis, so elbows and knees bend within the limb plane.
    """
    a, f = np.radians(abd), np.radians(flex)
    ca, sa, cf, sf = np.cos(a), np.sin(a), np.cos(f), np.sin(f)
    u = np.array([side * sa, ca * cf, ca * sf])
    h = np.array([ca, -side * sa * cf, -side * sa * sf])
    return u, h, np.cross(h, u)


def _rot_x(points: np.ndarray, deg: float, pivot: np.ndarray) -> np.ndarray:
    """Forward lean about the body X axis through ``pivot``: (0,-L,0) -> (0,-L cos, L sin)."""
    t = np.radians(deg)
    p = points - pivot
    y = p[..., 1] * np.cos(t) - p[..., 2] * np.sin(t)
    z = -p[..., 1] * np.sin(t) + p[..., 2] * np.cos(t)
    return np.stack([p[..., 0], y, z], -1) + pivot


def _yaw_rot(points: np.ndarray, yaw_deg: float) -> np.ndarray:
    """Body-frame ``(..., 3)`` -> camera ``(..., 3)`` columns ``x, y, depth``."""
    c, s = np.cos(np.radians(yaw_deg)), np.sin(np.radians(yaw_deg))
    X, Y, Z = points[..., 0], points[..., 1], points[..., 2]
    return np.stack([X * c + Z * s, Y, X * s - Z * c], -1)


def pose_human(p: HumanParams) -> Rig:
    """Project one person's rig into image pixels with local depth layers."""
    sh = dict(DEFAULT_SHAPE, **p.shape)
    po = dict(DEFAULT_POSE, **p.pose)
    zero = np.zeros(3)

    # ---- 3D skeleton in the body frame (pelvis at the origin) -------------
    neck = np.array([0.0, -sh["torso"], 0.0])
    shoulders = {s: np.array([side * sh["shoulder"], -sh["torso"] + 0.02, 0.0]) for s, side in (("l", 1), ("r", -1))}
    upper = _rot_x(np.stack([neck, shoulders["l"], shoulders["r"]]), po["lean"], zero)
    neck, shoulders = upper[0], {"l": upper[1], "r": upper[2]}
    head_c = _rot_x(np.array([0.0, -sh["torso"] - sh["neck"] - sh["head"] * 0.8, 0.01]), po["lean"], zero)

    pts: Dict[str, np.ndarray] = {"neck": neck, "head": head_c, "pelvis": zero}
    for s, side in (("l", 1.0), ("r", -1.0)):
        u, h, wb = _limb_frame(side, po[f"{s}_sh_abd"], po[f"{s}_sh_flex"])
        tw, el = np.radians(po[f"{s}_twist"]), np.radians(po[f"{s}_elbow"])
        f = np.cos(el) * u + np.sin(el) * (np.cos(tw) * wb + side * np.sin(tw) * h)   # elbow bends forward / outward
        pts[f"{s}_shoulder"] = shoulders[s]
        pts[f"{s}_elbow"] = shoulders[s] + sh["upper_arm"] * u
        pts[f"{s}_wrist"] = pts[f"{s}_elbow"] + sh["forearm"] * f
        pts[f"{s}_hand"] = pts[f"{s}_wrist"] + sh["hand"] * f
        hip = np.array([side * sh["hip"], 0.0, 0.0])
        t, _, wb = _limb_frame(side, po[f"{s}_hip_abd"], po[f"{s}_hip_flex"])
        kn = np.radians(po[f"{s}_knee"])
        k = np.cos(kn) * t - np.sin(kn) * wb                                           # knee bends backward
        pts[f"{s}_hip"] = hip
        pts[f"{s}_knee"] = hip + sh["thigh"] * t
        pts[f"{s}_ankle"] = pts[f"{s}_knee"] + sh["shin"] * k
        pts[f"{s}_toe"] = pts[f"{s}_ankle"] + sh["foot"] * _unit(np.array([0.0, 0.35, 1.0]))

    # face points on a sphere of 0.8 head radii, turned by the head's own yaw / pitch
    r = sh["head"]
    face = np.array([[0.0, 0.25, 0.75], [0.3, -0.05, 0.7], [-0.3, -0.05, 0.7],
                     [0.8, 0.05, -0.05], [-0.8, 0.05, -0.05]]) * r   # nose, l/r eye, l/r ear
    face = _rot_x(face, -po["head_pitch"], zero)
    hy = np.radians(po["head_yaw"])
    fx = face[:, 0] * np.cos(hy) + face[:, 2] * np.sin(hy)
    fz = -face[:, 0] * np.sin(hy) + face[:, 2] * np.cos(hy)
    face = np.stack([fx, face[:, 1], fz], 1)

    names = list(pts)
    body = np.stack([pts[n] for n in names])
    cam = _yaw_rot(np.concatenate([body, head_c + face]), p.yaw)          # (M, 3)
    face_depth = cam[len(names):, 2] - cam[names.index("head"), 2]          # (5,) relative to head centre

    # ---- to image pixels: scale, roll about the pelvis, translate ---------
    H = float(p.height)
    c, s_ = np.cos(np.radians(p.roll)), np.sin(np.radians(p.roll))
    rot = np.array([[c, s_], [-s_, c]])
    xy = cam[:, :2] * H @ rot + np.asarray(p.root, np.float64)
    depth = cam[:, 2]
    P = {n: xy[i] for i, n in enumerate(names)}
    D = {n: depth[i] for i, n in enumerate(names)}
    face_xy = xy[len(names):]

    # ---- parts (image polygons) with depth keys --------------------------
    yaw_r = np.radians(p.yaw)
    ac, as_ = abs(np.cos(yaw_r)), abs(np.sin(yaw_r))
    look = p.look
    parts: List[Tuple[str, np.ndarray, float, str]] = []   # name, polygon, depth key, material

    spine = P["neck"] - P["pelvis"]
    spine_len = float(np.hypot(*spine))
    axis = spine / spine_len if spine_len > 1e-6 else np.array([0.0, -1.0]) @ rot
    perp = np.array([-axis[1], axis[0]])
    w_sh = (sh["shoulder"] + 0.6 * sh["arm_r"]) * ac + 0.5 * sh["thick"] * as_
    w_wa = sh["waist"] * ac + 0.45 * sh["thick"] * as_
    w_hi = (sh["hip"] + 0.8 * sh["leg_r"]) * ac + 0.5 * sh["thick"] * as_
    ts = np.array([-0.1, 0.0, 0.45, 0.9, 1.0, 1.04])
    ws = np.array([0.85 * w_hi, w_hi, w_wa, w_sh, 0.85 * w_sh, 0.45 * w_sh]) * H
    centre = P["pelvis"] + np.outer(ts, spine)
    if spine_len < 0.12 * H:   # strongly foreshortened torso: keep a minimum height
        centre = P["pelvis"] + 0.5 * spine + np.outer((ts - 0.5) * 0.12 * H, axis)
    torso = np.concatenate([centre + ws[:, None] * perp, (centre - ws[:, None] * perp)[::-1]])
    parts.append(("torso", torso, 0.0, "shirt"))
    head_ang = np.radians(p.roll)
    rx, ry = 0.85 * r * H, r * H
    parts.append(("head", canvas.ellipse(P["head"], (rx, ry), head_ang), D["head"] - 0.03, "skin"))
    ar, lr = sh["arm_r"] * H, sh["leg_r"] * H
    caps = [("pelvis", P["l_hip"], P["r_hip"], 1.25 * lr, 1.25 * lr, -0.002, "pants"),
            ("neck", P["neck"] + 0.02 * H * axis, P["head"], 0.04 * H, 0.035 * H, -0.001, "skin")]
    for s in "lr":
        for name, a, b, r1, r2, mat, bias in (
                ("upper_arm", "shoulder", "elbow", ar, 0.85 * ar, "shirt", -0.005),
                ("forearm", "elbow", "wrist", 0.8 * ar, 0.6 * ar, "shirt" if look.long_sleeves else "skin", -0.005),
                ("hand", "wrist", "hand", 0.6 * ar, 0.65 * ar, "skin", -0.006),
                ("thigh", "hip", "knee", lr, 0.75 * lr, "pants", -0.005),
                ("shin", "knee", "ankle", 0.72 * lr, 0.5 * lr, "skin" if look.shorts else "pants", -0.005),
                ("foot", "ankle", "toe", 0.5 * lr, 0.42 * lr, "shoes", -0.006)):
            a, b = f"{s}_{a}", f"{s}_{b}"
            caps.append((f"{s}_{name}", P[a], P[b], r1, r2, 0.5 * (D[a] + D[b]) + bias, mat))
    polys = canvas.capsules(np.array([c[1] for c in caps]), np.array([c[2] for c in caps]),
                      np.array([c[3] for c in caps]), np.array([c[4] for c in caps]))
    parts += [(c[0], poly, c[5], c[6]) for c, poly in zip(caps, polys)]

    keys = np.array([d for _, _, d, _ in parts])
    order = sorted(range(len(parts)), key=lambda i: (-keys[i], i))       # farthest first
    rank = np.empty(len(parts), np.int64)
    rank[order] = np.arange(len(parts))
    local = 2 + 2 * rank
    L = {parts[i][0]: int(local[i]) for i in range(len(parts))}
    shade = 1.0 - 1.5 * np.clip(keys, 0.0, 0.15)
    cparts = [canvas.Part(parts[i][0], parts[i][1], int(local[i]), float(shade[i])) for i in range(len(parts))]

    # ---- keypoints and owner layers --------------------------------------
    joints = np.zeros((17, 2))
    owners = np.zeros(17, np.int64)
    for k, name in enumerate(("nose", "left_eye", "right_eye", "left_ear", "right_ear")):
        joints[k] = face_xy[k]
        owners[k] = L["head"] if face_depth[k] < 0.1 * r else L["head"] - 1   # back of the head: occluded by it
    for s, side in (("l", "left"), ("r", "right")):
        for j, own in (("shoulder", ("torso", "upper_arm")), ("elbow", ("upper_arm", "forearm")),
                       ("wrist", ("forearm", "hand")), ("hip", ("torso", "pelvis", "thigh")),
                       ("knee", ("thigh", "shin")), ("ankle", ("shin", "foot"))):
            k = J[f"{side}_{j}"]
            joints[k] = P[f"{s}_{j}"]
            owners[k] = max(L[o if o in ("torso", "pelvis") else f"{s}_{o}"] for o in own)
    head = (float(P["head"][0]), float(P["head"][1]), rx, ry, head_ang, float(p.yaw + po["head_yaw"]), L["head"])
    return Rig(joints=joints, owners=owners, parts=cparts, materials=[m for _, _, _, m in parts], head=head)


# --------------------------------------------------------------------------
# rendering
# --------------------------------------------------------------------------
def _background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Cluttered textured background ``(h, w, 3)`` float32: wall / floor gradient, fbm, blobs, grain."""
    wall, floor = rng.uniform(40, 220, 3), rng.uniform(30, 200, 3)
    horizon = int(rng.uniform(0.3, 0.75) * h)
    t = np.linspace(0.0, 1.0, h)[:, None]
    rows = np.where(np.arange(h)[:, None] < horizon,
                    wall * (rng.uniform(0.8, 1.1) - 0.25 * t), floor * (0.8 + 0.3 * t)).astype(np.float32)
    low = canvas.fbm(rng, (h + 3) // 4, (w + 3) // 4, cell=rng.uniform(5, 15), octaves=3)   # coarse, 1/4 res
    low = cv2.resize(low, ((w + 3) // 4 * 4, (h + 3) // 4 * 4), interpolation=cv2.INTER_LINEAR)[:h, :w]
    img = rows[:, None, :] * (0.75 + 0.5 * low)[..., None]
    for poly in canvas.random_polygons(rng, h, w, int(rng.integers(4, 14))):
        col = rng.uniform(20, 235, 3) * rng.uniform(0.5, 1.0)
        cv2.fillPoly(img, [np.round(poly * 16).astype(np.int32)], tuple(float(v) for v in col),
                     lineType=cv2.LINE_8, shift=4)
    img *= (0.92 + 0.16 * canvas.value_noise(rng, h, w, cell=rng.uniform(2, 5)))[..., None]
    return cv2.GaussianBlur(img, (0, 0), rng.uniform(0.5, 1.2))


@functools.lru_cache(maxsize=8)
def _grid(h: int, w: int) -> Tuple[np.ndarray, np.ndarray]:
    """Pixel row / column coordinates, each ``(h, w)`` float32 (read-only, cached)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    yy.flags.writeable = False
    xx.flags.writeable = False
    return yy, xx


def render_people(persons: Sequence[HumanParams], image_size=(320, 240), seed: int = 0,
                  background: bool = True) -> Scene:
    """Render ``persons`` into one ``image_size = (width, height)`` image.

    People are painted back to front by ``depth`` (larger = farther); each
    gets its own block of :data:`LAYERS_PER_PERSON` layers, so keypoint
    visibility accounts for occlusion within and between people.  ``seed``
    drives the background, textures and sensor noise only (appearance and
    pose live in the params), so re-rendering a subset of people on the same
    seed keeps the same backdrop.  Returns a :class:`Scene` (outputs in input order).
    """
    w, h = int(image_size[0]), int(image_size[1])
    rng = np.random.default_rng(seed)
    n = len(persons)
    rigs = [pose_human(p) for p in persons]
    order = sorted(range(n), key=lambda i: (-persons[i].depth, i))      # farthest first
    slot = np.empty(n, np.int64)
    slot[order] = np.arange(n)
    base = slot * LAYERS_PER_PERSON

    parts: List[canvas.Part] = []
    n_layers = max(n, 1) * LAYERS_PER_PERSON
    lut_col = np.zeros((n_layers + 1, 3), np.float32)     # index = layer + 1 (0 = background)
    lut_tex = np.zeros(n_layers + 1, np.float32)
    lut_str = np.zeros(n_layers + 1, np.float32)
    for i, (p, rig) in enumerate(zip(persons, rigs)):
        for part, mat in zip(rig.parts, rig.materials):
            g = int(base[i] + part.layer)
            parts.append(canvas.Part(part.name, part.polygon, g, part.shade))
            lut_col[g + 1] = getattr(p.look, mat)
            lut_tex[g + 1] = p.look.texture if mat in ("shirt", "pants") else 0.08
            lut_str[g + 1] = p.look.stripes if mat == "shirt" else 0.0
    layer_map = canvas.paint_layers((h, w), parts)

    # ---- keypoints --------------------------------------------------------
    kps = np.zeros((n, 17, 3))
    for i, rig in enumerate(rigs):
        pts = rig.joints
        inside = (pts[:, 0] >= 0) & (pts[:, 0] <= w - 1) & (pts[:, 1] >= 0) & (pts[:, 1] <= h - 1)
        vis = canvas.visibility(pts, base[i] + rig.owners, layer_map) & inside
        v = np.where(vis, 2, np.where(inside, 1, 0))
        kps[i, :, :2] = np.where(inside[:, None], pts, 0.0)
        kps[i, :, 2] = v
    owner_person = np.full(n_layers + 1, -1, np.int64)
    if n:
        owner_person[1:] = np.repeat(np.argsort(slot), LAYERS_PER_PERSON)
    pid = np.take(owner_person, layer_map.astype(np.int64) + 1)
    masks = pid[None] == np.arange(n)[:, None, None]
    full_areas = np.array([
        int(np.count_nonzero(canvas.paint_layers((h, w), rig.parts) >= 0)) for rig in rigs], np.int64)

    # ---- colour: base colour (H, W, 3) times one gain field (H, W) --------
    yy, xx = _grid(h, w)
    bg = _background(rng, h, w) if background else np.full((h, w, 3), 128.0, np.float32)
    shadow = np.zeros((h, w), np.float32)
    for p, rig in zip(persons, rigs):
        feet = rig.joints[[J["left_ankle"], J["right_ankle"]]]
        c = np.round(np.array([feet[:, 0].mean(), feet[:, 1].max() + 0.02 * p.height]) * 16).astype(int)
        ax = np.round(np.array([0.22, 0.035]) * p.height * 16).astype(int)
        cv2.ellipse(shadow, (int(c[0]), int(c[1])), (int(ax[0]), int(ax[1])), 0, 0, 360, 1.0, -1, cv2.LINE_AA, 4)
    bg_gain = 1.0 - 0.45 * cv2.GaussianBlur(shadow, (0, 0), 3.0)

    idx = layer_map.astype(np.int64) + 1
    fg = layer_map >= 0
    tex = canvas.fbm(rng, h, w, cell=rng.uniform(3, 7), octaves=3) - 0.5
    coarse = canvas.value_noise(rng, h, w, cell=rng.uniform(15, 30)) - 0.5
    theta, freq = float(rng.uniform(0, np.pi)), float(2 * np.pi / rng.uniform(3.5, 7.0))
    fx, fy = freq * float(np.cos(theta)), freq * float(np.sin(theta))   # python floats keep float32 fields
    fg_gain = 1.0 + np.take(lut_tex, idx) * (1.2 * tex + 0.5 * coarse)
    if lut_str.any():
        fg_gain += np.take(lut_str, idx) * np.sin(xx * fx + yy * fy)
    if parts:
        fg_gain *= canvas.shade_map(layer_map, parts)
    edge = np.zeros((h, w), np.uint8)                      # soft contact shading at part boundaries
    np.not_equal(layer_map[:, 1:], layer_map[:, :-1], out=edge[:, 1:].view(bool))
    edge[1:, :] |= layer_map[1:, :] != layer_map[:-1, :]
    fg_gain *= 1.0 - 0.35 * cv2.GaussianBlur(edge.astype(np.float32), (0, 0), 1.2)
    lx, ly = (float(v) for v in rng.normal(size=2))          # directional lighting
    light = (1.0 + 0.25 * ((xx[:1] / w - 0.5) * lx + (yy[:, :1] / h - 0.5) * ly)) * float(rng.uniform(0.8, 1.15))
    gain = np.where(fg, fg_gain, bg_gain) * light
    img = cv2.copyTo(np.take(lut_col, idx, axis=0), fg.view(np.uint8), bg)
    img *= gain[..., None]

    # hair: pixels of the head's back / top hemisphere (sphere model, head yaw aware)
    for i, (p, rig) in enumerate(zip(persons, rigs)):
        cx, cy, rx, ry, ang, yaw, hl = rig.head
        x0, x1 = max(int(cx - ry - 2), 0), min(int(cx + ry + 3), w)
        y0, y1 = max(int(cy - ry - 2), 0), min(int(cy + ry + 3), h)
        if x0 >= x1 or y0 >= y1:
            continue
        win = (slice(y0, y1), slice(x0, x1))
        dx, dy = xx[win] - cx, yy[win] - cy
        c, s = np.cos(ang), np.sin(ang)
        un, vn = (dx * c + dy * s) / rx, (-dx * s + dy * c) / ry
        dn = -np.sqrt(np.clip(1.0 - un * un - vn * vn, 0.0, 1.0))       # front surface toward the camera
        zb = un * np.sin(np.radians(yaw)) - dn * np.cos(np.radians(yaw))  # body-frame forward coordinate
        hair = (layer_map[win] == base[i] + hl) & ((vn < -0.45 + 0.25 * np.clip(zb, 0, 1)) | (zb < -0.15))
        hc = np.asarray(p.look.hair, np.float32) * ((0.85 + 0.4 * tex[win]) * light[win])[..., None]
        img[win] = np.where(hair[..., None], hc, img[win])

    # eyes where visible
    for i, rig in enumerate(rigs):
        if rig.head[3] >= 5.0:
            for k in (J["left_eye"], J["right_eye"]):
                if kps[i, k, 2] == 2:
                    cv2.circle(img, tuple(int(v) for v in np.round(kps[i, k, :2] * 16)),
                               int(max(1.0, 0.12 * rig.head[3]) * 16), (25.0, 20.0, 20.0), -1, cv2.LINE_AA, 4)

    # lens blur, sensor noise (uniform, std 1..4 grey levels)
    img = cv2.GaussianBlur(img, (0, 0), float(rng.uniform(0.4, 0.9)))
    noise = rng.integers(0, 256, img.shape, dtype=np.uint8).astype(np.float32) - 127.5
    img += noise * np.float32(rng.uniform(1.0, 4.0) * np.sqrt(12.0) / 256.0)
    return Scene(image=canvas.to_uint8(img), keypoints=kps, masks=masks, full_areas=full_areas,
                 layer_map=layer_map, rigs=rigs)
