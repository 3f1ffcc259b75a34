"""Animal-Pose dataset (Cao et al., ICCV 2019), official ``keypoints.json``.

``{"images": {str(image_id): file_name}, "annotations": [{"image_id", "bbox":
[xmin, ymin, xmax, ymax], "keypoints": 20 x [x, y, v], "num_keypoints",
"category_id"}]}`` with images under ``images/``; categories 1 dog, 2 cat,
3 sheep, 4 horse, 5 cow; joints in the official order (spec ``animalpose20``).
"""
from __future__ import annotations

import os
from typing import Iterable, List, Optional, Union

import numpy as np

from animalpose.keypoints import ANIMALPOSE_CATEGORIES

from .errors import DatasetFormatError, read_json
from .sample import PoseSample, box_center_scale

_NAME_TO_ID = {v: k for k, v in ANIMALPOSE_CATEGORIES.items()}


def _category_ids(categories: Optional[Iterable[Union[int, str]]]) -> Optional[set]:
    if categories is None:
        return None
    ids = set()
    for c in categories:
        if isinstance(c, str) and not c.isdigit():
            if c not in _NAME_TO_ID:
                raise ValueError(f"unknown Animal-Pose category {c!r}; known: {', '.join(_NAME_TO_ID)}")
            ids.add(_NAME_TO_ID[c])
        else:
            ids.add(int(c))
    return ids


class AnimalPose:
    """Animal-Pose instances as :class:`PoseSample`.

    Args:
        root: folder with ``keypoints.json`` and ``images/`` (or the JSON path itself).
        categories: keep these categories (names or ids); None keeps all.
        exclude: drop these categories (e.g. the held-out target species).
        aspect_ratio, padding: crop box convention (``w/h`` of the network input, box enlargement).
    """

    spec = "animalpose20"

    def __init__(self, root: str, categories=None, exclude=None, image_dir: Optional[str] = None,
                 aspect_ratio: float = 1.0, padding: float = 1.25):
        ann_file = root if root.endswith(".json") else os.path.join(root, "keypoints.json")
        self.ann_file = ann_file
        self.image_dir = image_dir or os.path.join(os.path.dirname(ann_file), "images")
        self.aspect_ratio, self.padding = aspect_ratio, padding
        doc = read_json(ann_file)
        if not isinstance(doc, dict) or "images" not in doc or "annotations" not in doc:
            raise DatasetFormatError(ann_file, "expected top-level keys 'images' and 'annotations'")
        images = doc["images"]
        if isinstance(images, list):  # tolerate a COCO-style list of image records
            images = {str(im["id"]): im["file_name"] for im in images}
        keep, drop = _category_ids(categories), _category_ids(exclude) or set()
        self.items: List[dict] = []
        for n, ann in enumerate(doc["annotations"]):
            try:
                kp = np.asarray(ann["keypoints"], np.float32).reshape(-1, 3) if ann["keypoints"] else None
                bbox = np.asarray(ann["bbox"], np.float32)
                cat = int(ann["category_id"])
                file_name = images[str(ann["image_id"])]
            except KeyError as e:
                raise DatasetFormatError(ann_file, f"annotation {n}: missing field or image id {e}") from None
            except (TypeError, ValueError):
                raise DatasetFormatError(ann_file, f"annotation {n}: keypoints must be 20 x [x, y, v]") from None
            if kp is None or kp.shape != (20, 3):
                raise DatasetFormatError(ann_file, f"annotation {n}: expected 20 keypoints [x, y, v], "
                                                   f"got {None if kp is None else kp.shape}")
            if bbox.shape != (4,):
                raise DatasetFormatError(ann_file, f"annotation {n}: bbox must be [xmin, ymin, xmax, ymax]")
            if cat not in ANIMALPOSE_CATEGORIES:
                raise DatasetFormatError(ann_file, f"annotation {n}: unknown category_id {cat}")
            if (keep is not None and cat not in keep) or cat in drop:
                continue
            self.items.append({"index": n, "image_id": ann["image_id"], "file_name": file_name,
                               "keypoints": kp, "bbox": bbox, "category_id": cat})

    def __len__(self) -> int:
        return len(self.items)

    def annotation(self, i: int) -> PoseSample:
        it = self.items[i]
        c, s = box_center_scale(it["bbox"], self.aspect_ratio, self.padding)
        return PoseSample(image_path=os.path.join(self.image_dir, it["file_name"]), keypoints=it["keypoints"].copy(),
                          bbox=it["bbox"].copy(), center=c, scale=s, spec=self.spec, image_id=it["image_id"],
                          instance_id=it["index"], category=ANIMALPOSE_CATEGORIES[it["category_id"]])

    def __getitem__(self, i: int) -> PoseSample:
        return self.annotation(i).with_image()
