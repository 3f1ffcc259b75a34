"""The built-in keypoint specs (the one place that knows the published joint orders).

TigDog / CC-SSL 18 and its 14-joint subset, Animal-Pose 20 (official order),
AP-10K 17, Horse-10 22, COCO 17 and CrowdPose 14.  Facts from the datasets'
releases and mmpose's metainfo (``shared/reference``); the registry
(:mod:`.registry`) serves them by name.
"""
from __future__ import annotations

from typing import Dict, Sequence, Tuple

import numpy as np

from .spec import KeypointSpec

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
    # names of the release's VOC-XML annotations (L_ear, Tail) that mean the ear base and the tail base
    aliases={"l_earbase": ("l_ear",), "r_earbase": ("r_ear",), "tailbase": ("tail",)},
    source="Animal-Pose keypoints.json (noahcao/animal-pose-dataset); sigmas from mmpose metainfo",
)
#: Animal-Pose category ids of the official release.
ANIMALPOSE_CATEGORIES: Dict[int, str] = {1: "dog", 2: "cat", 3: "sheep", 4: "horse", 5: "cow"}

# --------------------------------------------------------------------------
# AP-10K (Yu et al., NeurIPS 2021 datasets track): 17 joints, 54 species
# --------------------------------------------------------------------------
_AP10K = (
    "l_eye", "r_eye", "nose", "neck", "root_of_tail",
    "l_shoulder", "l_elbow", "l_f_paw", "r_shoulder", "r_elbow", "r_f_paw",
    "l_hip", "l_knee", "l_b_paw", "r_hip", "r_knee", "r_b_paw",
)
AP10K17 = KeypointSpec(
    name="ap10k17",
    joints=_AP10K,
    flip_pairs=_pairs(_AP10K, [("l_eye", "r_eye"), ("l_shoulder", "r_shoulder"), ("l_elbow", "r_elbow"),
                               ("l_f_paw", "r_f_paw"), ("l_hip", "r_hip"), ("l_knee", "r_knee"),
                               ("l_b_paw", "r_b_paw")]),
    # the release's category skeleton (1-based in the file), by name
    skeleton=_pairs(_AP10K, [
        ("l_eye", "r_eye"), ("l_eye", "nose"), ("r_eye", "nose"), ("nose", "neck"), ("neck", "root_of_tail"),
        ("neck", "l_shoulder"), ("l_shoulder", "l_elbow"), ("l_elbow", "l_f_paw"),
        ("neck", "r_shoulder"), ("r_shoulder", "r_elbow"), ("r_elbow", "r_f_paw"),
        ("root_of_tail", "l_hip"), ("l_hip", "l_knee"), ("l_knee", "l_b_paw"),
        ("root_of_tail", "r_hip"), ("r_hip", "r_knee"), ("r_knee", "r_b_paw"),
    ]),
    groups={"eye": (0, 1), "nose": (2,), "neck": (3,), "tail": (4,), "shoulder": (5, 8), "elbow": (6, 9),
            "front_paw": (7, 10), "hip": (11, 14), "knee": (12, 15), "back_paw": (13, 16)},
    sigmas=(.025, .025, .026, .035, .035, .079, .072, .062, .079, .072, .062, .107, .087, .089, .107, .087, .089),
    upper_body=(0, 1, 2, 3, 5, 6, 7, 8, 9, 10),   # mmpose metainfo type 'upper'
    source="AP-10K annotation files (categories[].keypoints) and mmpose ap10k metainfo (flip pairs, sigmas)",
)

# --------------------------------------------------------------------------
# Horse-10 (Mathis et al., WACV 2021): 22 joints of side views
# --------------------------------------------------------------------------
_HORSE10 = (
    "nose", "eye", "nearknee", "nearfrontfetlock", "nearfrontfoot", "offknee", "offfrontfetlock", "offfrontfoot",
    "shoulder", "midshoulder", "elbow", "girth", "wither", "nearhindhock", "nearhindfetlock", "nearhindfoot",
    "hip", "stifle", "offhindhock", "offhindfetlock", "offhindfoot", "ischium",
)
HORSE10_22 = KeypointSpec(
    name="horse10_22",
    joints=_HORSE10,
    # near/off are the horse's own sides seen from one camera side: a mirrored side view keeps them, so no pairs
    flip_pairs=(),
    skeleton=_pairs(_HORSE10, [
        ("nose", "eye"), ("eye", "wither"), ("wither", "hip"), ("hip", "ischium"), ("ischium", "stifle"),
        ("stifle", "girth"), ("girth", "elbow"), ("elbow", "shoulder"), ("shoulder", "midshoulder"),
        ("midshoulder", "wither"), ("nearknee", "nearfrontfetlock"), ("nearfrontfetlock", "nearfrontfoot"),
        ("offknee", "offfrontfetlock"), ("offfrontfetlock", "offfrontfoot"), ("nearhindhock", "nearhindfetlock"),
        ("nearhindfetlock", "nearhindfoot"), ("offhindhock", "offhindfetlock"), ("offhindfetlock", "offhindfoot"),
    ]),
    groups={"head": (0, 1), "front_near": (2, 3, 4), "front_off": (5, 6, 7), "body": (8, 9, 10, 11, 12, 16, 17, 21),
            "hind_near": (13, 14, 15), "hind_off": (18, 19, 20)},
    sigmas=None,                                    # mmpose defines none (Horse-10 reports NME / PCK)
    upper_body=tuple(range(13)),                    # mmpose metainfo type 'upper'
    source="Horse-10 DeepLabCut project bodyparts / mmpose horse10 metainfo (no flip pairs, no OKS sigmas)",
)

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

BUILTIN_SPECS: Tuple[KeypointSpec, ...] = (TIGDOG18, TIGDOG14, ANIMALPOSE20, AP10K17, HORSE10_22, COCO17, CROWDPOSE14)
