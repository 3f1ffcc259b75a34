"""Keypoint specifications: the one place that knows joint orders.

Every dataset, codec, model head and report reads its joint names, flip pairs,
skeleton, report groups and OKS sigmas from a :class:`KeypointSpec` looked up
by name with :func:`get_spec`.  Cross-spec correspondences (Animal-Pose 20 to
the TigDog-style 14 subset, human COCO 17 to the animal joints they share)
are :class:`KeypointMapping` objects looked up with :func:`get_mapping`.

Conventions: keypoint arrays are ``(..., K, 3)`` with columns ``x, y, v``
(``v`` is the dataset's own visibility flag, 0 = not labelled).  Indices are
0-based everywhere.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Mapping, Optional, Sequence, Tuple

import numpy as np

__all__ = [
    "KeypointSpec", "KeypointMapping", "get_spec", "list_specs",
    "get_mapping", "list_mappings", "TIGER_REMAP",
]


@dataclass(frozen=True)
class KeypointSpec:
    """Joint order and metadata of one keypoint convention.

    Attributes:
        name: registry name, e.g. ``"tigdog18"``.
        joints: joint names in dataset order (length K).
        flip_pairs: ``(left, right)`` index pairs swapped by a horizontal flip.
        skeleton: ``(i, j)`` index pairs drawn as limbs.
        groups: report groups, group name -> joint indices (paper tables).
        sigmas: per-joint OKS sigmas (COCO convention) or ``None``.
        remaps: named index permutations applied to raw annotations, e.g. the
            TigDog tiger remap: ``canonical = raw[remaps["tiger"]]``.
        upper_body: joints of the "upper" half used by half-body augmentation
            (the rest form the lower half); empty disables it for the spec.
        source: where the order comes from.
    """

    name: str
    joints: Tuple[str, ...]
    flip_pairs: Tuple[Tuple[int, int], ...]
    skeleton: Tuple[Tuple[int, int], ...]
    groups: Mapping[str, Tuple[int, ...]] = field(default_factory=dict)
    sigmas: Optional[Tuple[float, ...]] = None
    remaps: Mapping[str, Tuple[int, ...]] = field(default_factory=dict)
    upper_body: Tuple[int, ...] = ()
    source: str = ""

    def __post_init__(self):
        k = len(self.joints)
        if len(set(self.joints)) != k:
            raise ValueError(f"spec {self.name}: duplicate joint names")
        seen = set()
        for a, b in self.flip_pairs:
            if not (0 <= a < k and 0 <= b < k) or a == b or a in seen or b in seen:
                raise ValueError(f"spec {self.name}: bad flip pair ({a}, {b})")
            seen.update((a, b))
        for a, b in self.skeleton:
            if not (0 <= a < k and 0 <= b < k):
                raise ValueError(f"spec {self.name}: bad skeleton edge ({a}, {b})")
        for g, idx in self.groups.items():
            if any(not 0 <= i < k for i in idx):
                raise ValueError(f"spec {self.name}: group {g} has an index out of range")
        if self.sigmas is not None and len(self.sigmas) != k:
            raise ValueError(f"spec {self.name}: {len(self.sigmas)} sigmas for {k} joints")
        if any(not 0 <= i < k for i in self.upper_body):
            raise ValueError(f"spec {self.name}: upper_body has an index out of range")
        for r, perm in self.remaps.items():
            if sorted(perm) != list(range(k)):
                raise ValueError(f"spec {self.name}: remap {r} is not a permutation")

    @property
    def num_joints(self) -> int:
        return len(self.joints)

    def index(self, joint: str) -> int:
        try:
            return self.joints.index(joint)
        except ValueError:
            raise KeyError(f"spec {self.name} has no joint {joint!r}; joints: {', '.join(self.joints)}") from None

    @property
    def flip_index(self) -> np.ndarray:
        """Permutation ``p`` with ``flipped[..., k, :] = original[..., p[k], :]``."""
        perm = np.arange(self.num_joints)
        for a, b in self.flip_pairs:
            perm[a], perm[b] = b, a
        return perm

    @property
    def sigmas_array(self) -> np.ndarray:
        if self.sigmas is None:
            raise ValueError(f"spec {self.name} defines no OKS sigmas")
        return np.asarray(self.sigmas, dtype=np.float64)

    def flip_keypoints(self, keypoints: np.ndarray, width: float, offset: float = 1.0) -> np.ndarray:
        """Mirror ``(..., K, 3)`` keypoints in an image of ``width`` pixels.

        ``x' = width - x - offset`` with ``offset = 1`` the pixel-centre
        convention of the reference code (bearpaw's ``shufflelr`` uses 0), and
        left/right joints swap.  Unlabelled joints (v == 0) keep x.
        """
        kp = np.array(keypoints, dtype=np.float32, copy=True)
        labelled = kp[..., 2] > 0
        kp[..., 0] = np.where(labelled, width - kp[..., 0] - offset, kp[..., 0])
        return kp[..., self.flip_index, :]

    def remap(self, keypoints: np.ndarray, which: str) -> np.ndarray:
        if which not in self.remaps:
            raise KeyError(f"spec {self.name} has no remap {which!r}; remaps: {', '.join(self.remaps) or 'none'}")
        return np.asarray(keypoints)[..., list(self.remaps[which]), :]


def _idx(joints: Sequence[str], *names: str) -> Tuple[int, ...]:
    return tuple(joints.index(n) for n in names)


def _pairs(joints: Sequence[str], pairs: Sequence[Tuple[str, str]]) -> Tuple[Tuple[int, int], ...]:
    return tuple((joints.index(a), joints.index(b)) for a, b in pairs)


# --------------------------------------------------------------------------
# TigDog / CC-SSL 18 joints (animal_da_protocols.md 1a)
# --------------------------------------------------------------------------
_TIGDOG18 = (
    "l_eye", "r_eye", "chin",
    "l_front_hoof", "r_front_hoof", "l_back_hoof", "r_back_hoof",
    "hip",
    "l_front_knee", "r_front_knee", "l_back_knee", "r_back_knee",
    "l_shoulder", "r_shoulder",
    "l_front_elbow", "r_front_elbow", "l_back_elbow", "r_back_elbow",
)
#: TigDog tiger annotations swap the knee (8-11) and elbow (14-17) blocks.
TIGER_REMAP: Tuple[int, ...] = tuple(np.array([1, 2, 3, 4, 5, 6, 7, 8, 15, 16, 17, 18, 13, 14, 9, 10, 11, 12]) - 1)

_QUADRUPED_LEGS = []
for _side in ("l", "r"):
    _QUADRUPED_LEGS += [
        (f"{_side}_shoulder", f"{_side}_front_elbow"), (f"{_side}_front_elbow", f"{_side}_front_knee"),
        (f"{_side}_front_knee", f"{_side}_front_hoof"),
        ("hip", f"{_side}_back_elbow"), (f"{_side}_back_elbow", f"{_side}_back_knee"),
        (f"{_side}_back_knee", f"{_side}_back_hoof"),
        (f"{_side}_shoulder", "hip"), ("chin", f"{_side}_shoulder"), (f"{_side}_eye", "chin"),
    ]

TIGDOG18 = KeypointSpec(
    name="tigdog18",
    joints=_TIGDOG18,
    flip_pairs=((0, 1), (3, 4), (5, 6), (8, 9), (10, 11), (12, 13), (14, 15), (16, 17)),
    skeleton=((0, 1),) + _pairs(_TIGDOG18, _QUADRUPED_LEGS),
    groups={
        "eye": (0, 1), "chin": (2,), "hoof": (3, 4, 5, 6), "hip": (7,),
        "knee": (8, 9, 10, 11), "shoulder": (12, 13), "elbow": (14, 15, 16, 17),
    },
    remaps={"tiger": TIGER_REMAP},
    upper_body=(0, 1, 2, 3, 4, 8, 9, 12, 13, 14, 15),  # head, shoulders and front legs
    source="CC-SSL / TigDog behaviorDiscovery2.0 (landmark rows 0-17, horse order); groups of UDA evaluation/test.py",
)

_TIGDOG14 = tuple(j for j in _TIGDOG18 if j not in ("chin", "hip", "l_shoulder", "r_shoulder"))
TIGDOG14 = KeypointSpec(
    name="tigdog14",
    joints=_TIGDOG14,
    flip_pairs=_pairs(_TIGDOG14, [("l_eye", "r_eye"), ("l_front_hoof", "r_front_hoof"),
                                  ("l_back_hoof", "r_back_hoof"), ("l_front_knee", "r_front_knee"),
                                  ("l_back_knee", "r_back_knee"), ("l_front_elbow", "r_front_elbow"),
                                  ("l_back_elbow", "r_back_elbow")]),
    skeleton=_pairs(_TIGDOG14, [(a, b) for a, b in _QUADRUPED_LEGS
                                if a in _TIGDOG14 and b in _TIGDOG14]) + ((0, 1),),
    groups={"eye": (0, 1), "hoof": (2, 3, 4, 5), "knee": (6, 7, 8, 9), "elbow": (10, 11, 12, 13)},
    source="TigDog-style 14-joint subset (drop chin, hip, shoulders) used for Animal-Pose dog/sheep",
)

# --------------------------------------------------------------------------
# Animal-Pose (Cao et al. ICCV 2019), official keypoints.json order
# --------------------------------------------------------------------------
_AP20 = (
    "l_eye", "r_eye", "nose", "l_earbase", "r_earbase",
    "l_f_elbow", "r_f_elbow", "l_b_elbow", "r_b_elbow",
    "l_f_knee", "r_f_knee", "l_b_knee", "r_b_knee",
    "l_f_paw", "r_f_paw", "l_b_paw", "r_b_paw",
    "throat", "withers", "tailbase",
)
# OKS sigmas: the paper defines none; these are mmpose's animalpose metainfo
# values (adapted from COCO), re-ordered by joint name into the official order.
_AP20_SIGMAS_BY_NAME = {
    "l_eye": .025, "r_eye": .025, "l_earbase": .026, "r_earbase": .035, "nose": .035,
    "throat": .10, "tailbase": .10, "withers": .10,
    "l_f_elbow": .107, "r_f_elbow": .107, "l_b_elbow": .107, "r_b_elbow": .107,
    "l_f_knee": .087, "r_f_knee": .087, "l_b_knee": .087, "r_b_knee": .087,
    "l_f_paw": .089, "r_f_paw": .089, "l_b_paw": .089, "r_b_paw": .089,
}
ANIMALPOSE20 = KeypointSpec(
    name="animalpose20",
    joints=_AP20,
    flip_pairs=((0, 1), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16)),
    skeleton=_pairs(_AP20, [
        ("l_eye", "r_eye"), ("l_eye", "l_earbase"), ("r_eye", "r_earbase"), ("l_eye", "nose"), ("r_eye", "nose"),
        ("nose", "throat"), ("throat", "withers"), ("tailbase", "withers"),
        ("throat", "l_f_elbow"), ("l_f_elbow", "l_f_knee"), ("l_f_knee", "l_f_paw"),
        ("throat", "r_f_elbow"), ("r_f_elbow", "r_f_knee"), ("r_f_knee", "r_f_paw"),
        ("tailbase", "l_b_elbow"), ("l_b_elbow", "l_b_knee"), ("l_b_knee", "l_b_paw"),
        ("tailbase", "r_b_elbow"), ("r_b_elbow", "r_b_knee"), ("r_b_knee", "r_b_paw"),
    ]),
    groups={
        "eye": (0, 1), "nose": (2,), "earbase": (3, 4), "elbow": (5, 6, 7, 8), "knee": (9, 10, 11, 12),
        "paw": (13, 14, 15, 16), "throat": (17,), "withers": (18,), "tailbase": (19,),
    },
    sigmas=tuple(_AP20_SIGMAS_BY_NAME[j] for j in _AP20),
    upper_body=(0, 1, 2, 3, 4, 5, 6, 9, 10, 13, 14, 17, 18),  # head, throat, withers and front legs
    source="Animal-Pose keypoints.json (noahcao/animal-pose-dataset); sigmas from mmpose metainfo",
)
#: Animal-Pose category ids of the official release.
ANIMALPOSE_CATEGORIES: Dict[int, str] = {1: "dog", 2: "cat", 3: "sheep", 4: "horse", 5: "cow"}

# --------------------------------------------------------------------------
# Human specs
# --------------------------------------------------------------------------
_COCO17 = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)
COCO17 = KeypointSpec(
    name="coco17",
    joints=_COCO17,
    flip_pairs=((1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16)),
    # COCO's 19 limbs (person_keypoints "skeleton", converted to 0-based)
    skeleton=tuple((a - 1, b - 1) for a, b in (
        (16, 14), (14, 12), (17, 15), (15, 13), (12, 13), (6, 12), (7, 13), (6, 7), (6, 8), (7, 9),
        (8, 10), (9, 11), (2, 3), (1, 2), (1, 3), (2, 4), (3, 5), (4, 6), (5, 7))),
    groups={"head": (0, 1, 2, 3, 4), "shoulder": (5, 6), "elbow": (7, 8), "wrist": (9, 10),
            "hip": (11, 12), "knee": (13, 14), "ankle": (15, 16)},
    sigmas=(.026, .025, .025, .035, .035, .079, .079, .072, .072, .062, .062,
            .107, .107, .087, .087, .089, .089),
    upper_body=tuple(range(11)),  # HRNet half-body: head, shoulders, arms
    source="COCO person keypoints; sigmas of pycocotools COCOeval (kpt_oks_sigmas)",
)

_CROWD14 = (
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "head", "neck",
)
CROWDPOSE14 = KeypointSpec(
    name="crowdpose14",
    joints=_CROWD14,
    flip_pairs=((0, 1), (2, 3), (4, 5), (6, 7), (8, 9), (10, 11)),
    skeleton=_pairs(_CROWD14, [
        ("head", "neck"), ("neck", "left_shoulder"), ("neck", "right_shoulder"),
        ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
        ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
        ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"), ("left_hip", "right_hip"),
        ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
        ("right_hip", "right_knee"), ("right_knee", "right_ankle"),
    ]),
    groups={"head": (12, 13), "shoulder": (0, 1), "elbow": (2, 3), "wrist": (4, 5),
            "hip": (6, 7), "knee": (8, 9), "ankle": (10, 11)},
    sigmas=(.079, .079, .072, .072, .062, .062, .107, .107, .087, .087, .089, .089, .079, .079),
    upper_body=(0, 1, 2, 3, 4, 5, 12, 13),
    source="CrowdPose (xtcocotools / DEKR crowdpose config)",
)

_SPECS: Dict[str, KeypointSpec] = {s.name: s for s in (TIGDOG18, TIGDOG14, ANIMALPOSE20, COCO17, CROWDPOSE14)}


def list_specs() -> Tuple[str, ...]:
    return tuple(sorted(_SPECS))


def get_spec(name: "str | KeypointSpec") -> KeypointSpec:
    """Look a spec up by name (a spec passes through unchanged)."""
    if isinstance(name, KeypointSpec):
        return name
    try:
        return _SPECS[name]
    except KeyError:
        raise KeyError(f"unknown keypoint spec {name!r}; known: {', '.join(list_specs())}") from None


# --------------------------------------------------------------------------
# Mappings between specs
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class KeypointMapping:
    """Joint correspondence from spec ``src`` to spec ``dst``.

    ``pairs`` lists ``(src_index, dst_index)``.  :meth:`apply` moves
    ``(..., K_src, 3)`` keypoints into the ``dst`` order; destination joints
    without a source are zero with ``v = 0`` and are False in :attr:`mask`,
    so a loss on mapped data supervises only the corresponding joints.
    """

    name: str
    src: str
    dst: str
    pairs: Tuple[Tuple[int, int], ...]
    source: str = ""

    def __post_init__(self):
        s, d = get_spec(self.src), get_spec(self.dst)
        si = [a for a, _ in self.pairs]
        di = [b for _, b in self.pairs]
        if len(set(si)) != len(si) or len(set(di)) != len(di):
            raise ValueError(f"mapping {self.name}: a joint is mapped twice")
        if any(not 0 <= a < s.num_joints for a in si) or any(not 0 <= b < d.num_joints for b in di):
            raise ValueError(f"mapping {self.name}: index out of range")

    @property
    def src_index(self) -> np.ndarray:
        return np.array([a for a, _ in self.pairs], dtype=np.int64)

    @property
    def dst_index(self) -> np.ndarray:
        return np.array([b for _, b in self.pairs], dtype=np.int64)

    @property
    def mask(self) -> np.ndarray:
        """``(K_dst,)`` bool: destination joints that receive a source joint."""
        m = np.zeros(get_spec(self.dst).num_joints, dtype=bool)
        m[self.dst_index] = True
        return m

    def apply(self, keypoints: np.ndarray) -> np.ndarray:
        kp = np.asarray(keypoints, dtype=np.float32)
        if kp.shape[-2] != get_spec(self.src).num_joints:
            raise ValueError(f"mapping {self.name}: expected {get_spec(self.src).num_joints} "
                             f"{self.src} joints, got {kp.shape[-2]}")
        out = np.zeros(kp.shape[:-2] + (get_spec(self.dst).num_joints, kp.shape[-1]), dtype=np.float32)
        out[..., self.dst_index, :] = kp[..., self.src_index, :]
        return out


def _by_name(name: str, src: str, dst: str, names: Sequence[Tuple[str, str]], source: str) -> KeypointMapping:
    s, d = get_spec(src), get_spec(dst)
    return KeypointMapping(name, src, dst, tuple((s.index(a), d.index(b)) for a, b in names), source)


def _identity_names(src: str, dst: str) -> Tuple[Tuple[str, str], ...]:
    d = get_spec(dst)
    return tuple((j, j) for j in get_spec(src).joints if j in d.joints)


# Human limb chain -> quadruped limb chain: arms are front legs, legs are back
# legs; names match where they exist (elbow, knee) and the human end points
# (wrist, ankle) go to the animal end points (paw / hoof).  WS-CDA's exact
# correspondence is not published; this is the documented choice of the kit.
_HUMAN_TO_AP = (
    ("left_eye", "l_eye"), ("right_eye", "r_eye"), ("nose", "nose"),
    ("left_ear", "l_earbase"), ("right_ear", "r_earbase"),
    ("left_elbow", "l_f_elbow"), ("right_elbow", "r_f_elbow"),
    ("left_wrist", "l_f_paw"), ("right_wrist", "r_f_paw"),
    ("left_knee", "l_b_knee"), ("right_knee", "r_b_knee"),
    ("left_ankle", "l_b_paw"), ("right_ankle", "r_b_paw"),
)
_HUMAN_TO_TIGDOG = (
    ("left_eye", "l_eye"), ("right_eye", "r_eye"),
    ("left_shoulder", "l_shoulder"), ("right_shoulder", "r_shoulder"),
    ("left_elbow", "l_front_elbow"), ("right_elbow", "r_front_elbow"),
    ("left_wrist", "l_front_hoof"), ("right_wrist", "r_front_hoof"),
    ("left_knee", "l_back_knee"), ("right_knee", "r_back_knee"),
    ("left_ankle", "l_back_hoof"), ("right_ankle", "r_back_hoof"),
)
_AP_TO_TIGDOG = (
    ("l_eye", "l_eye"), ("r_eye", "r_eye"),
    ("l_f_paw", "l_front_hoof"), ("r_f_paw", "r_front_hoof"), ("l_b_paw", "l_back_hoof"), ("r_b_paw", "r_back_hoof"),
    ("l_f_knee", "l_front_knee"), ("r_f_knee", "r_front_knee"), ("l_b_knee", "l_back_knee"), ("r_b_knee", "r_back_knee"),
    ("l_f_elbow", "l_front_elbow"), ("r_f_elbow", "r_front_elbow"),
    ("l_b_elbow", "l_back_elbow"), ("r_b_elbow", "r_back_elbow"),
)

_MAPPINGS: Dict[str, KeypointMapping] = {}


def _register(m: KeypointMapping) -> None:
    _MAPPINGS[m.name] = m


_register(_by_name("animalpose20_to_tigdog14", "animalpose20", "tigdog14", _AP_TO_TIGDOG,
                   "UDA_PoseEstimation pts_index=[0,1,13,14,15,16,9,10,11,12,5,6,7,8]"))
_register(_by_name("animalpose20_to_tigdog18", "animalpose20", "tigdog18", _AP_TO_TIGDOG,
                   "same joints as animalpose20_to_tigdog14, in the 18-joint order (chin, hip, shoulders unmapped)"))
_register(_by_name("tigdog18_to_tigdog14", "tigdog18", "tigdog14", _identity_names("tigdog18", "tigdog14"),
                   "synthetic indices [0,1,3,4,5,6,8,9,10,11,14,15,16,17]"))
_register(_by_name("coco17_to_animalpose20", "coco17", "animalpose20", _HUMAN_TO_AP,
                   "human-to-animal transfer (WS-CDA); kit's documented correspondence"))
_register(_by_name("coco17_to_tigdog18", "coco17", "tigdog18", _HUMAN_TO_TIGDOG,
                   "human-to-animal transfer into the TigDog order; kit's documented correspondence"))


def list_mappings() -> Tuple[str, ...]:
    return tuple(sorted(_MAPPINGS))


def get_mapping(src: str, dst: Optional[str] = None) -> KeypointMapping:
    """``get_mapping("coco17", "animalpose20")`` or ``get_mapping("coco17_to_animalpose20")``."""
    key = src if dst is None else f"{src}_to_{dst}"
    try:
        return _MAPPINGS[key]
    except KeyError:
        raise KeyError(f"no keypoint mapping {key!r}; known: {', '.join(list_mappings())}") from None
