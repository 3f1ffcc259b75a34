"""COCO person keypoints (``person_keypoints_{split}.json``): the ``person`` case of
:class:`datasets.coco_keypoints.CocoKeypointSet`.

Top-down instances follow the HRNet / SimpleBaseline protocol: non-crowd
persons with at least ``min_keypoints`` labelled joints, boxes cleaned
(:func:`clean_bbox`) and turned into a crop centre / scale with
:func:`datasets.sample.box_center_scale`.  :meth:`CocoKeypoints.people` gives
all non-crowd persons of an image for bottom-up training.  The file must hold
a ``person`` category (a file without one, e.g. AP-10K, is refused instead
of being read as people); its joints are matched by name to ``coco17``.
"""
from __future__ import annotations

import os
from typing import Dict

import numpy as np

from .coco_keypoints import CocoKeypointSet, clean_bbox
from .errors import DatasetFormatError, read_json

__all__ = ["CocoKeypoints", "clean_bbox", "load_coco_json", "NUM_JOINTS"]

NUM_JOINTS = 17


def load_coco_json(ann_file, num_joints: int = NUM_JOINTS) -> Dict:
    """Read and check a COCO-style keypoints JSON with ``num_joints`` joints per annotation;
    raises :class:`DatasetFormatError` naming the file."""
    path = str(ann_file)
    data = read_json(path)
    if not isinstance(data, dict):
        raise DatasetFormatError(path, f"top level is a {type(data).__name__}, expected a COCO object")
    for key in ("images", "annotations"):
        if not isinstance(data.get(key), list):
            raise DatasetFormatError(path, f"missing '{key}' list (not a COCO annotation file?)")
    image_ids = set()
    for img in data["images"]:
        missing = [k for k in ("id", "file_name", "width", "height") if not isinstance(img, dict) or k not in img]
        if missing:
            raise DatasetFormatError(path, f"image entry {img if not isinstance(img, dict) else img.get('id')!r} "
                                           f"lacks {', '.join(missing)}")
        image_ids.add(img["id"])
    for ann in data["annotations"]:
        if not isinstance(ann, dict) or "id" not in ann:
            raise DatasetFormatError(path, "an annotation has no 'id'")
        aid = ann["id"]
        for key in ("image_id", "keypoints", "bbox"):
            if key not in ann:
                raise DatasetFormatError(path, f"annotation {aid} has no '{key}'")
        if ann["image_id"] not in image_ids:
            raise DatasetFormatError(path, f"annotation {aid} refers to unknown image_id {ann['image_id']!r}")
        kp, box = ann["keypoints"], ann["bbox"]
        if not isinstance(kp, list) or len(kp) != 3 * num_joints:
            n = len(kp) if isinstance(kp, list) else type(kp).__name__
            raise DatasetFormatError(path, f"annotation {aid}: keypoints has {n} numbers, expected {3 * num_joints}")
        if not isinstance(box, list) or len(box) != 4:
            raise DatasetFormatError(path, f"annotation {aid}: bbox must be 4 numbers [x, y, w, h]")
        try:
            finite = np.isfinite(np.asarray(kp, np.float64)).all() and np.isfinite(np.asarray(box, np.float64)).all()
        except (TypeError, ValueError):
            raise DatasetFormatError(path, f"annotation {aid}: keypoints / bbox are not all numbers") from None
        if not finite:
            raise DatasetFormatError(path, f"annotation {aid}: keypoints / bbox hold NaN or infinite values")
    return data


class CocoKeypoints(CocoKeypointSet):
    """COCO person keypoints, one top-down instance per annotated person.

    Args:
        ann_file: ``person_keypoints_*.json``.
        image_dir: folder holding the images' ``file_name``.
        aspect_ratio: crop ``w / h`` (0.75 for 256x192 inputs).
        padding: box enlargement (1.25 in HRNet).
        min_keypoints: minimum number of labelled joints (``v > 0``) per instance.
        use_gt_boxes: ``True``: instances are ground-truth persons; ``False``:
            instances are the person detections of ``det_file`` (COCO results
            JSON with ``image_id``, ``bbox``, ``score``; keypoints all zero).
        det_file, det_score_threshold: detections for ``use_gt_boxes=False``.

    Samples as in :class:`~datasets.coco_keypoints.CocoKeypointSet` with
    keypoints ``(17, 3)`` in ``coco17`` order and HRNet's box cleaning.
    Subclasses for other COCO-style person sets (:class:`datasets.crowdpose.CrowdPoseKeypoints`)
    set :attr:`default_spec` and may extend :meth:`_read_annotations`.
    """

    default_spec = "coco17"
    default_categories = ("person",)

    def __init__(self, ann_file, image_dir, aspect_ratio: float = 0.75, padding: float = 1.25,
                 min_keypoints: int = 1, use_gt_boxes: bool = True, det_file=None,
                 det_score_threshold: float = 0.0, **kwargs):
        super().__init__(ann_file, image_dir, aspect_ratio=aspect_ratio, padding=padding,
                         min_keypoints=min_keypoints, use_gt_boxes=use_gt_boxes, det_file=det_file,
                         det_score_threshold=det_score_threshold, **kwargs)

    @property
    def num_joints(self) -> int:
        return self.spec_def.num_joints

    @classmethod
    def from_root(cls, root, split: str, **kwargs) -> "CocoKeypoints":
        """Real COCO layout: ``root/annotations/person_keypoints_{split}.json`` and ``root/{split}/``."""
        root = str(root)
        return cls(os.path.join(root, "annotations", f"person_keypoints_{split}.json"),
                   os.path.join(root, split), **kwargs)
