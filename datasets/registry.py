"""The dataset registry: every loader's name, how to build it from a data config,
how to recognise its layout on disk, and its benchmark.

``build(cfg, aspect_ratio)`` takes any object with the
:class:`animalpose.engine.config.DataConfig` attributes; ``find(folder)`` lists
``(label, open)`` pairs for the copies of the layout found in ``folder`` (used
by ``animalpose summary``), where ``open()`` builds the loader exactly as
training does.  ``benchmark`` says how keypoint accuracy is scored: ``pck``
(PCK, no OKS protocol of its own), ``coco`` (COCO OKS AP with the spec's
sigmas) or ``crowdpose``.  New loaders call :func:`register_dataset`.
"""
from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

__all__ = ["DatasetEntry", "register_dataset", "get_dataset", "list_datasets", "find_datasets", "open_file"]


@dataclass(frozen=True)
class DatasetEntry:
    """One registered loader (see the module docstring)."""

    name: str
    title: str
    build: Callable[[Any, Optional[float]], Any]
    find: Callable[[str], List[Tuple[str, Callable[[], Any]]]]
    benchmark: str
    layout: str
    takes_spec: bool = False          # reads its joints by name into a configured ``spec``


_REGISTRY: Dict[str, DatasetEntry] = {}


def register_dataset(entry: DatasetEntry) -> DatasetEntry:
    if entry.name in _REGISTRY:
        raise ValueError(f"dataset {entry.name!r} is already registered")
    if entry.benchmark not in ("pck", "coco", "crowdpose"):
        raise ValueError(f"dataset {entry.name}: benchmark must be pck, coco or crowdpose")
    _REGISTRY[entry.name] = entry
    return entry


def list_datasets() -> Tuple[str, ...]:
    return tuple(_REGISTRY)


def get_dataset(name: str) -> DatasetEntry:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(_REGISTRY)}") from None


def _sub(root: str, name: str) -> str:
    """``root/name`` when it exists (the `animalpose generate` layout), else ``root``."""
    sub = os.path.join(root, name)
    return sub if os.path.isdir(sub) else root


# ---------------------------------------------------------------------- synthetic animals
def _synthetic(root, animal, split, split_dir=None, occlusion_visible=False, vertex_ids=None):
    from .synthetic_animal import SyntheticAnimal
    return SyntheticAnimal(_sub(root, "synthetic_animal"), animal, split, split_dir=split_dir,
                           occlusion_visible=occlusion_visible, vertex_ids=vertex_ids)


def _build_synthetic(cfg, aspect_ratio):
    return _synthetic(cfg.root, cfg.animal, cfg.split, cfg.split_dir, cfg.occlusion_visible,
                      getattr(cfg, "vertex_ids", None))


def _find_synthetic(folder):
    out = []
    base = _sub(folder, "synthetic_animal")
    for d in sorted(glob.glob(os.path.join(base, "*_combineds5r5_texture"))):
        animal = os.path.basename(d)[: -len("_combineds5r5_texture")]
        for split in ("train", "valid"):
            out.append((f"synthetic_animal/{animal}/{split}",
                        lambda a=animal, s=split: _synthetic(folder, a, s)))
    return out


# ---------------------------------------------------------------------- TigDog
def _tigdog(root, animal, split, crop="ccssl", split_dir=None):
    """TigDog with the split the config names: ``split_dir: official`` = the split files under
    ``<root>/real_animal/<animal>/`` (required: a missing file is an error naming it), a folder =
    the split files there, ``None`` = the seeded 20 % of shots by video.  Nothing is guessed."""
    from .tigdog import TigDog
    if split_dir == "official":
        split_dir = os.path.join(root, "real_animal", animal)
    return TigDog(root, animal, split, crop=crop, split_dir=split_dir)


def _build_tigdog(cfg, aspect_ratio):
    return _tigdog(cfg.root, cfg.animal, cfg.split, cfg.crop, cfg.split_dir)


def _find_tigdog(folder):
    out = []
    for d in sorted(glob.glob(os.path.join(folder, "behaviorDiscovery2.0", "ranges", "*"))):
        animal = os.path.basename(d)
        official = os.path.isfile(os.path.join(folder, "real_animal", animal, "train_idxs_by_video.npy"))
        for split in ("train", "test"):
            out.append((f"tigdog/{animal}/{split}",
                        lambda a=animal, s=split, o=official: _tigdog(folder, a, s, split_dir="official" if o else None)))
    return out


# ---------------------------------------------------------------------- Animal-Pose
def _build_animalpose(cfg, aspect_ratio):
    from .animal_pose import open_animalpose
    root = cfg.ann_file or _sub(cfg.root, "animalpose")
    return open_animalpose(root, cfg.split, categories=cfg.categories or None, exclude=cfg.exclude or None,
                           image_dir=cfg.img_dir)


def _find_animalpose(folder):
    from .animal_pose import open_animalpose
    base = _sub(folder, "animalpose")
    if os.path.isfile(os.path.join(base, "keypoints.json")):
        return [("animalpose/all", lambda: open_animalpose(base))]
    out = []
    for ann in sorted(glob.glob(os.path.join(base, "annotations", "animalpose_*.json"))):
        split = os.path.basename(ann)[len("animalpose_"):-len(".json")]
        out.append((f"animalpose/{split}", lambda s=split: open_animalpose(base, s)))
    return out


# ---------------------------------------------------------------------- COCO-style files
def _det_kwargs(cfg, aspect_ratio) -> Dict[str, Any]:
    kw = {} if aspect_ratio is None else {"aspect_ratio": float(aspect_ratio)}
    if getattr(cfg, "det_file", None):
        kw.update(use_gt_boxes=False, det_file=cfg.det_file, det_score_threshold=cfg.det_score_threshold)
    return kw


def _build_coco(cfg, aspect_ratio):
    from .coco import CocoKeypoints
    kw = {**_det_kwargs(cfg, aspect_ratio), "box_convention": cfg.box_convention}
    if cfg.ann_file:
        return CocoKeypoints(cfg.ann_file, cfg.img_dir or os.path.dirname(cfg.ann_file), **kw)
    return CocoKeypoints.from_root(_sub(cfg.root, "coco"), cfg.split, **kw)


def _find_coco(folder):
    from .coco import CocoKeypoints
    base = _sub(folder, "coco")
    out = []
    for ann in sorted(glob.glob(os.path.join(base, "annotations", "person_keypoints_*.json"))):
        split = os.path.basename(ann)[len("person_keypoints_"):-len(".json")]
        out.append((f"coco/{split}", lambda s=split: CocoKeypoints.from_root(base, s)))
    return out


def _crowdpose(root, split, **kw):
    from .crowdpose import SPLITS, CrowdPoseKeypoints
    base = _sub(root, "crowdpose")
    ann = os.path.join(base, "json", f"crowdpose_{split}.json")
    if not os.path.isfile(ann):
        raise FileNotFoundError(f"crowdpose split {split!r}: {ann} not found (a CrowdPose root holds "
                                f"json/crowdpose_<split>.json for {'/'.join(SPLITS)} and images/; render one with "
                                "`animalpose generate --only crowdpose --out DIR`)")
    return CrowdPoseKeypoints.from_root(base, split, **kw)


def _build_crowdpose(cfg, aspect_ratio):
    return _crowdpose(cfg.root, cfg.split, **_det_kwargs(cfg, aspect_ratio))


def _find_crowdpose(folder):
    base = _sub(folder, "crowdpose")
    out = []
    for ann in sorted(glob.glob(os.path.join(base, "json", "crowdpose_*.json"))):
        split = os.path.basename(ann)[len("crowdpose_"):-len(".json")]
        out.append((f"crowdpose/{split}", lambda s=split: _crowdpose(folder, s)))
    return out


def resolve_image_dir(ann_file: str, image_dir: Optional[str] = None) -> str:
    """Where a COCO-style file's images are: ``image_dir`` if given, else the first of the
    file's folder, its ``images/``, and (for ``<root>/annotations/x.json``) ``<root>``,
    ``<root>/images`` and ``<root>/data`` (AP-10K) that holds the file's first image."""
    if image_dir:
        return image_dir
    from .errors import DatasetFormatError, read_json
    data = read_json(ann_file)
    first = None
    if isinstance(data, dict) and isinstance(data.get("images"), list) and data["images"]:
        first = data["images"][0].get("file_name") if isinstance(data["images"][0], dict) else None
    folder = os.path.dirname(os.path.abspath(ann_file))
    tries = [folder, os.path.join(folder, "images")]
    if os.path.basename(folder) == "annotations":
        parent = os.path.dirname(folder)
        tries += [parent, os.path.join(parent, "images"), os.path.join(parent, "data")]
    if first is None:
        return folder
    for t in tries:
        if os.path.isfile(os.path.join(t, first)):
            return t
    raise DatasetFormatError(ann_file, f"image {first!r} not found in {', '.join(tries)}; give the image "
                                       "folder (img_dir / --images)")


def _build_coco_keypoints(cfg, aspect_ratio):
    from .coco_keypoints import CocoKeypointSet
    ann = cfg.ann_file
    if not ann:
        raise ValueError("dataset coco_keypoints needs data.ann_file (the COCO-style JSON) and data.img_dir")
    if not os.path.isabs(ann) and not os.path.isfile(ann) and cfg.root:
        ann = os.path.join(cfg.root, ann)
    img_dir = cfg.img_dir
    if img_dir and not os.path.isabs(img_dir) and not os.path.isdir(img_dir) and cfg.root:
        img_dir = os.path.join(cfg.root, img_dir)
    return CocoKeypointSet(ann, resolve_image_dir(ann, img_dir), spec=cfg.spec or None,
                           categories=cfg.categories, flip_pairs=cfg.flip_pairs, box_convention=cfg.box_convention,
                           **_det_kwargs(cfg, aspect_ratio))


def _find_coco_keypoints(folder):
    """COCO-style files in ``folder/annotations/`` or ``folder/*/annotations/`` that no other
    layout claims (person_keypoints_*, crowdpose_*, animalpose_*)."""
    claimed = ("person_keypoints_", "crowdpose_", "animalpose_", "ap10k-")
    out = []
    for ann in sorted(glob.glob(os.path.join(folder, "annotations", "*.json")) +
                      glob.glob(os.path.join(folder, "*", "annotations", "*.json"))):
        if os.path.basename(ann).startswith(claimed):
            continue
        parent = os.path.dirname(os.path.dirname(ann))
        label = f"{os.path.basename(parent)}/{os.path.splitext(os.path.basename(ann))[0]}"
        out.append((label, lambda a=ann: open_file(a)))
    return out


# ---------------------------------------------------------------------- AP-10K
AP10K_FILE = "ap10k-{split}-split{n}.json"


def _ap10k(root, split, split_number=1, image_dir=None, **kw):
    from .coco_keypoints import CocoKeypointSet
    base = _sub(root, "ap10k")
    ann = os.path.join(base, "annotations", AP10K_FILE.format(split=split, n=split_number))
    if not os.path.isfile(ann):
        raise FileNotFoundError(f"AP-10K split {split!r}: {ann} not found (an AP-10K root holds "
                                "annotations/ap10k-{train,val,test}-split{1,2,3}.json and data/)")
    return CocoKeypointSet(ann, image_dir or os.path.join(base, "data"), spec="ap10k17", box_convention="mmpose",
                           **kw)


def _build_ap10k(cfg, aspect_ratio):
    kw = _det_kwargs(cfg, aspect_ratio)
    if cfg.categories:
        kw["categories"] = cfg.categories
    return _ap10k(cfg.root, cfg.split, image_dir=cfg.img_dir, **kw)


def _find_ap10k(folder):
    base = _sub(folder, "ap10k")
    out = []
    for ann in sorted(glob.glob(os.path.join(base, "annotations", "ap10k-*-split1.json"))):
        split = os.path.basename(ann)[len("ap10k-"):-len("-split1.json")]
        out.append((f"ap10k/{split}", lambda s=split: _ap10k(folder, s)))
    return out


# ---------------------------------------------------------------------- DeepLabCut
def _dlc(root, split="all", **kw):
    from .dlc import DLCProject
    return DLCProject(root, split, **kw)


def _build_dlc(cfg, aspect_ratio):
    kw = {} if aspect_ratio is None else {"aspect_ratio": float(aspect_ratio)}
    return _dlc(cfg.root, cfg.split, spec=cfg.spec or None, flip_pairs=cfg.flip_pairs, test_videos=cfg.test_videos,
                split_by=cfg.split_by, test_fraction=cfg.test_fraction, split_seed=cfg.split_seed,
                margin=cfg.box_margin, **kw)


def _find_dlc(folder):
    out = []
    found = []
    for pattern in ("config.yaml", os.path.join("*", "config.yaml"), os.path.join("dlc", "*", "config.yaml")):
        found += glob.glob(os.path.join(folder, pattern))
    for cfg in sorted(set(found)):
        project = os.path.dirname(cfg)
        if os.path.isdir(os.path.join(project, "labeled-data")):
            out.append((f"dlc/{os.path.basename(os.path.abspath(project))}", lambda p=project: _dlc(p, "all")))
    return out


def open_file(ann_file: str, image_dir: Optional[str] = None, spec=None):
    """The loader of one annotation file: the official Animal-Pose ``keypoints.json``
    (``images`` a dict) or any COCO-style file (spec by the file's joint names)."""
    from .animal_pose import AnimalPose, is_official_file
    from .coco_keypoints import CocoKeypointSet
    if is_official_file(ann_file):
        return AnimalPose(ann_file, image_dir=image_dir)
    return CocoKeypointSet(ann_file, resolve_image_dir(ann_file, image_dir), spec=spec)


def find_datasets(folder: str) -> List[Tuple[str, str, Callable[[], Any]]]:
    """``(dataset name, label, open)`` for every copy of every registered layout found in ``folder``."""
    out = []
    for entry in _REGISTRY.values():
        out.extend((entry.name, label, opener) for label, opener in entry.find(folder))
    return out


for _e in (
    DatasetEntry("synthetic_animal", "CC-SSL synthetic animals", _build_synthetic, _find_synthetic, "pck",
                 "synthetic_animal/<animal>_combineds5r5_texture/ (*_img.png, *_kpts.npy, train_idxs.npy)"),
    DatasetEntry("tigdog", "TigDog", _build_tigdog, _find_tigdog, "pck",
                 "behaviorDiscovery2.0/{ranges,landmarks}/<animal>/, real_animal/<animal>/*_idxs_by_video.npy"),
    DatasetEntry("animalpose", "Animal-Pose", _build_animalpose, _find_animalpose, "coco",
                 "animalpose/keypoints.json + images/ (official) or animalpose/annotations/animalpose_<split>.json "
                 "(mmpose)"),
    DatasetEntry("coco", "COCO", _build_coco, _find_coco, "coco",
                 "coco/annotations/person_keypoints_<split>.json + coco/<split>/"),
    DatasetEntry("crowdpose", "CrowdPose", _build_crowdpose, _find_crowdpose, "crowdpose",
                 "crowdpose/json/crowdpose_<split>.json + crowdpose/images/"),
    DatasetEntry("ap10k", "AP-10K", _build_ap10k, _find_ap10k, "coco",
                 "ap10k/annotations/ap10k-<split>-split1.json + ap10k/data/"),
    DatasetEntry("coco_keypoints", "COCO-style keypoints", _build_coco_keypoints, _find_coco_keypoints, "coco",
                 "any COCO-style JSON (data.ann_file) + its image folder (data.img_dir)", takes_spec=True),
    DatasetEntry("dlc", "DeepLabCut project", _build_dlc, _find_dlc, "pck",
                 "<project>/config.yaml + labeled-data/<video>/CollectedData_<scorer>.csv + frames",
                 takes_spec=True),
):
    register_dataset(_e)
