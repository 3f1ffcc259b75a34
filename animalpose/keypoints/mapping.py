"""Joint correspondences between specs (:class:`KeypointMapping`), looked up with :func:`get_mapping`.

Animal-Pose 20 to the TigDog-style 14 subset, TigDog 18 to 14, and human COCO
17 to the animal joints they share (WS-CDA's human-to-animal transfer).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from .registry import get_spec

__all__ = ["KeypointMapping", "get_mapping", "list_mappings"]


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
