"""Animal-Pose dataset (Cao et al., ICCV 2019), in both of its distributions.

**Official release** (``keypoints.json`` with ``images/``)::

    {"images": {str(image_id): file_name},
     "annotations": [{"image_id", "bbox": [xmin, ymin, xmax, ymax], "keypoints": 20 x [x, y, v],
                      "num_keypoints", "category_id"}],           # no annotation "id"
     "categories": [{"id", "name", "keypoints": [names], ...}]}

categories 1 dog, 2 cat, 3 sheep, 4 horse, 5 cow.  The joints are matched by
name to ``animalpose20`` when the categories name them (``left_ear`` ->
``l_earbase`` and ``tail`` -> ``tailbase`` through the spec's aliases), else
read in the documented official order.  Boxes are checked to be ``x1, y1, x2,
y2`` (``x2 >= x1``).  Instance ids are the annotation's position in the file.

**mmpose's conversion** (``annotations/animalpose_{train,val,test}.json``,
images under the root): a COCO-style file (``images`` a list, boxes ``x, y,
w, h``, joints in mmpose's order, one category ``animal``), read by
:class:`AnimalPoseCoco` - the generic COCO loader with spec ``animalpose20``
(joints reordered by name) and mmpose's box convention, so an instance comes
out with the same keypoints and box from either file.  mmpose's file does not
keep the species: ``categories`` / ``exclude`` by species are refused on it.

:func:`open_animalpose` picks the reader from the file.
"""
from __future__ import annotations

import os
from typing import Dict, Iterable, List, Optional, Union

import numpy as np

from animalpose.keypoints import ANIMALPOSE_CATEGORIES, get_spec, match_joints

from .coco_keypoints import CocoKeypointSet
from .errors import DatasetFormatError, read_json
from .sample import PoseSample, box_center_scale

SPEC = "animalpose20"
_NAME_TO_ID = {v: k for k, v in ANIMALPOSE_CATEGORIES.items()}


def _category_ids(categories: Optional[Iterable[Union[int, str]]], names: Dict[str, int]) -> Optional[set]:
    if categories is None:
        return None
    ids = set()
    for c in categories:
        if isinstance(c, str) and not c.isdigit():
            if c not in names:
                raise ValueError(f"unknown Animal-Pose category {c!r}; known: {', '.join(names)}")
            ids.add(names[c])
        else:
            ids.add(int(c))
    return ids


class AnimalPose:
    """Official Animal-Pose ``keypoints.json`` instances as :class:`PoseSample`.

    Args:
        root: folder with ``keypoints.json`` and ``images/`` (or the JSON path itself).
        categories: keep these categories (names or ids); None keeps all.
        exclude: drop these categories (e.g. the held-out target species).
        aspect_ratio, padding: crop box convention (``w/h`` of the network input, box enlargement).
    """

    spec = SPEC
    benchmark = "coco"

    def __init__(self, root: str, categories=None, exclude=None, image_dir: Optional[str] = None,
                 aspect_ratio: float = 1.0, padding: float = 1.25):
        ann_file = root if root.endswith(".json") else os.path.join(root, "keypoints.json")
        self.ann_file = os.path.abspath(ann_file)
        self.image_dir = os.path.abspath(image_dir or os.path.join(os.path.dirname(ann_file), "images"))
        self.aspect_ratio, self.padding = aspect_ratio, padding
        doc = read_json(ann_file)
        if not isinstance(doc, dict) or "images" not in doc or "annotations" not in doc:
            raise DatasetFormatError(ann_file, "expected top-level keys 'images' and 'annotations'")
        images = doc["images"]
        if not isinstance(images, dict):
            raise DatasetFormatError(ann_file, "'images' is not a dict of id -> file name (the official "
                                               "keypoints.json); a COCO-style list is read by AnimalPoseCoco")
        bad = [k for k, v in images.items() if not isinstance(v, str) or not v]
        if bad:
            raise DatasetFormatError(ann_file, f"'images' entry {bad[0]!r}: the file name must be a non-empty string")
        if not isinstance(doc["annotations"], list):
            raise DatasetFormatError(ann_file, "'annotations' is not a list")
        self.categories_by_id = dict(ANIMALPOSE_CATEGORIES)
        self.order = None
        cats = doc.get("categories")
        if isinstance(cats, list) and cats:
            try:
                self.categories_by_id = {int(c["id"]): str(c["name"]) for c in cats}
            except (KeyError, TypeError, ValueError, OverflowError):
                raise DatasetFormatError(ann_file, "'categories' entries need an integer 'id' and a 'name'") from None
            names = [c.get("keypoints") for c in cats if c.get("keypoints")]
            if names:
                if any(n != names[0] for n in names):
                    raise DatasetFormatError(ann_file, "the categories name different joints")
                order = match_joints(names[0], get_spec(SPEC), where=ann_file)
                self.order = None if np.array_equal(order, np.arange(20)) else order
        by_name = {v: k for k, v in self.categories_by_id.items()}
        keep, drop = _category_ids(categories, by_name), _category_ids(exclude, by_name) or set()
        self.items: List[dict] = []
        self.all_items: List[dict] = []
        for n, ann in enumerate(doc["annotations"]):
            if not isinstance(ann, dict):
                raise DatasetFormatError(ann_file, f"annotation {n} is not an object")
            try:
                kp = np.asarray(ann["keypoints"], np.float32).reshape(-1, 3) if ann["keypoints"] else None
                bbox = np.asarray(ann["bbox"], np.float32)
                cat = int(ann["category_id"])
                file_name = images[str(ann["image_id"])]
            except KeyError as e:
                raise DatasetFormatError(ann_file, f"annotation {n}: missing field or image id {e}") from None
            except (TypeError, ValueError, OverflowError):
                raise DatasetFormatError(ann_file, f"annotation {n}: keypoints, bbox and category_id must be "
                                                   "numbers (20 x [x, y, v], 4, 1)") from None
            if kp is None or kp.shape != (20, 3):
                raise DatasetFormatError(ann_file, f"annotation {n}: expected 20 keypoints [x, y, v], "
                                                   f"got {None if kp is None else kp.shape}")
            if bbox.shape != (4,):
                raise DatasetFormatError(ann_file, f"annotation {n}: bbox must be [xmin, ymin, xmax, ymax]")
            if not (np.isfinite(kp).all() and np.isfinite(bbox).all()):
                raise DatasetFormatError(ann_file, f"annotation {n}: keypoints or bbox hold NaN or infinite values")
            if bbox[2] < bbox[0] or bbox[3] < bbox[1]:
                raise DatasetFormatError(ann_file, f"annotation {n}: bbox {bbox.tolist()} is not [xmin, ymin, xmax, "
                                                   "ymax] (xmax < xmin or ymax < ymin); an x, y, w, h file is "
                                                   "mmpose's conversion (COCO-style 'images' list)")
            if cat not in self.categories_by_id:
                raise DatasetFormatError(ann_file, f"annotation {n}: unknown category_id {cat}")
            if self.order is not None:
                kp = kp[self.order]
            item = {"index": n, "image_id": ann["image_id"], "file_name": file_name, "keypoints": kp,
                    "bbox": bbox, "category_id": cat}
            self.all_items.append(item)
            if (keep is not None and cat not in keep) or cat in drop:
                continue
            self.items.append(item)
        self.image_files = dict(images)

    def __len__(self) -> int:
        return len(self.items)

    def annotation(self, i: int) -> PoseSample:
        it = self.items[i]
        c, s = box_center_scale(it["bbox"], self.aspect_ratio, self.padding)
        x1, y1, x2, y2 = (float(v) for v in it["bbox"])
        return PoseSample(image_path=os.path.join(self.image_dir, it["file_name"]), keypoints=it["keypoints"].copy(),
                          bbox=it["bbox"].copy(), center=c, scale=s, spec=self.spec, image_id=it["image_id"],
                          instance_id=it["index"], category=self.categories_by_id[it["category_id"]],
                          extra={"area": (x2 - x1) * (y2 - y1), "iscrowd": 0, "category_id": it["category_id"]})

    def __getitem__(self, i: int) -> PoseSample:
        return self.annotation(i).with_image()

    def coco_ground_truth(self) -> Dict:
        """The kept instances as COCO ground truth: integer image ids where the file's are digit
        strings, annotation ids = position in the file + 1, boxes ``x, y, w, h``, ``area`` =
        box ``w * h`` (the release has no masks), ``num_keypoints`` counted (``v > 0``)."""
        images, anns, seen = [], [], set()
        spec = get_spec(SPEC)
        for it in self.items:
            iid = it["image_id"]
            if iid not in seen:
                seen.add(iid)
                images.append({"id": iid, "file_name": it["file_name"]})
            x1, y1, x2, y2 = (float(v) for v in it["bbox"])
            kp = it["keypoints"]
            anns.append({"id": it["index"] + 1, "image_id": iid, "category_id": it["category_id"], "iscrowd": 0,
                         "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1),
                         "keypoints": [float(v) for v in kp.reshape(-1)], "num_keypoints": int((kp[:, 2] > 0).sum())})
        skeleton = [[a + 1, b + 1] for a, b in spec.skeleton]
        cats = [{"id": k, "name": v, "keypoints": list(spec.joints), "skeleton": skeleton}
                for k, v in sorted(self.categories_by_id.items())]
        return {"images": images, "annotations": anns, "categories": cats}


class AnimalPoseCoco(CocoKeypointSet):
    """mmpose's COCO-style Animal-Pose files: spec ``animalpose20`` (joints matched by name),
    mmpose's box convention (``x2 = clip(x + w)``); see the module docstring."""

    default_spec = SPEC

    def __init__(self, ann_file, image_dir, categories=(), box_convention: str = "mmpose",
                 aspect_ratio: float = 1.0, padding: float = 1.25, **kwargs):
        super().__init__(ann_file, image_dir, categories=categories, box_convention=box_convention,
                         aspect_ratio=aspect_ratio, padding=padding, **kwargs)


def is_official_file(path: str) -> bool:
    """True when ``path`` is the official ``keypoints.json`` form (``images`` a dict)."""
    doc = read_json(path)
    return isinstance(doc, dict) and isinstance(doc.get("images"), dict)


def open_animalpose(root: str, split: str = "train", categories=None, exclude=None, image_dir=None,
                    aspect_ratio: float = 1.0, padding: float = 1.25):
    """The Animal-Pose reader for ``root``: the official ``keypoints.json`` (``root/keypoints.json``
    or the file), or mmpose's conversion (``root/annotations/animalpose_{split}.json`` with the
    images under ``root``, or the file).  The official release has no split (``split`` is not
    used; select by ``categories`` / ``exclude``)."""
    root = str(root)
    if root.endswith(".json"):
        ann = root
    elif os.path.isfile(os.path.join(root, "keypoints.json")):
        ann = os.path.join(root, "keypoints.json")
    else:
        ann = os.path.join(root, "annotations", f"animalpose_{split}.json")
        if not os.path.isfile(ann):
            raise FileNotFoundError(f"{root}: no Animal-Pose annotations (expected keypoints.json with images/, the "
                                    f"official release, or annotations/animalpose_{split}.json, mmpose's conversion)")
    if is_official_file(ann):
        return AnimalPose(ann, categories=categories, exclude=exclude, image_dir=image_dir,
                          aspect_ratio=aspect_ratio, padding=padding)
    if exclude:
        raise ValueError(f"{ann}: mmpose's Animal-Pose file keeps no species; `exclude` cannot be applied")
    folder = os.path.dirname(os.path.abspath(ann))
    if image_dir is None:
        image_dir = os.path.dirname(folder) if os.path.basename(folder) == "annotations" else folder
    return AnimalPoseCoco(ann, image_dir, categories=list(categories or ()), aspect_ratio=aspect_ratio,
                          padding=padding)
