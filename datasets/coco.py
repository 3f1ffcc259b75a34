"""COCO person keypoints (``person_keypoints_{split}.json``) through pycocotools.

Top-down instances follow the HRNet / SimpleBaseline protocol: non-crowd
persons with at least ``min_keypoints`` labelled joints, boxes cleaned
(:func:`clean_bbox`) and turned into a crop centre / scale with
:func:`datasets.sample.box_center_scale`.  :meth:`CocoKeypoints.people` gives
all non-crowd persons of an image for bottom-up training.

The JSON is read and checked here first, so a bad file fails with one
:class:`DatasetFormatError` line naming it; pycocotools then indexes it with
its prints silenced.
"""
from __future__ import annotations

import contextlib
import io
import os
from typing import Any, Dict, List, Sequence

import numpy as np
from pycocotools.coco import COCO

from .errors import DatasetFormatError, read_json
from .sample import PoseSample, box_center_scale, read_image

__all__ = ["CocoKeypoints", "clean_bbox", "load_coco_json", "NUM_JOINTS"]

NUM_JOINTS = 17


def clean_bbox(bbox_xywh: Sequence[float], width: int, height: int) -> np.ndarray:
    """HRNet's box cleaning: COCO ``x, y, w, h`` -> ``(4,)`` float32 ``x1, y1, x2, y2`` clipped
    to a ``width x height`` image (``x2 = min(W - 1, x1 + max(0, w - 1))``, same for y)."""
    x, y, w, h = (float(v) for v in bbox_xywh)
    x1, y1 = max(0.0, x), max(0.0, y)
    x2 = min(width - 1.0, x1 + max(0.0, w - 1.0))
    y2 = min(height - 1.0, y1 + max(0.0, h - 1.0))
    return np.array([x1, y1, x2, y2], np.float32)


def _quiet_coco(dataset: Dict) -> COCO:
    coco = COCO()
    coco.dataset = dataset
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def load_coco_json(ann_file, num_joints: int = NUM_JOINTS) -> Dict:
    """Read and check a COCO-style keypoints JSON with ``num_joints`` joints per person;
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
            np.asarray(kp, np.float64) + np.asarray(box, np.float64).sum()
        except (TypeError, ValueError):
            raise DatasetFormatError(path, f"annotation {aid}: keypoints / bbox are not all numbers") from None
    return data


class CocoKeypoints:
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

    ``len(ds)``; ``ds[i]`` -> :class:`PoseSample` with the RGB image;
    ``ds.annotation(i)`` without it; keypoints ``(17, 3)`` float32,
    ``bbox`` cleaned ``x1, y1, x2, y2``, ``instance_id`` = annotation id,
    ``extra = {"area", "iscrowd"}`` (detections: ``{"area", "iscrowd", "score"}``);
    ``area`` is the annotation's, or the box ``w * h`` where it has none.

    Subclasses for other COCO-style person sets (:class:`datasets.crowdpose.CrowdPoseKeypoints`)
    set :attr:`spec` and :attr:`num_joints` and may extend :meth:`_read_annotations`.
    """

    spec = "coco17"
    num_joints = NUM_JOINTS

    def __init__(self, ann_file, image_dir, aspect_ratio: float = 0.75, padding: float = 1.25,
                 min_keypoints: int = 1, use_gt_boxes: bool = True, det_file=None,
                 det_score_threshold: float = 0.0):
        self.ann_file = os.path.abspath(str(ann_file))
        self.image_dir = os.path.abspath(str(image_dir))
        self.aspect_ratio, self.padding = float(aspect_ratio), float(padding)
        self.min_keypoints = int(min_keypoints)
        self.use_gt_boxes = bool(use_gt_boxes)
        self.coco = _quiet_coco(self._read_annotations(self.ann_file))
        named = [c["id"] for c in self.coco.dataset.get("categories", []) if c.get("name") == "person"]
        self._person_cats = set(named) if named else None
        self.image_ids: List[Any] = list(self.coco.imgs)          # file order
        if self.use_gt_boxes:
            self._records = [r for img_id in self.image_ids for r in self._person_records(img_id)
                             if self._keep_top_down(r)]
        else:
            if det_file is None:
                raise ValueError(f"{type(self).__name__}(use_gt_boxes=False) needs det_file "
                                 "(COCO detection results JSON)")
            self._records = self._detection_records(str(det_file), float(det_score_threshold))

    @classmethod
    def from_root(cls, root, split: str, **kwargs) -> "CocoKeypoints":
        """Real COCO layout: ``root/annotations/person_keypoints_{split}.json`` and ``root/{split}/``."""
        root = str(root)
        return cls(os.path.join(root, "annotations", f"person_keypoints_{split}.json"),
                   os.path.join(root, split), **kwargs)

    # ------------------------------------------------------------------
    def _read_annotations(self, path: str) -> Dict:
        """The checked JSON (:func:`load_coco_json` with :attr:`num_joints`)."""
        return load_coco_json(path, self.num_joints)

    def _image_info(self, image_id):
        img = self.coco.imgs[image_id]
        return os.path.join(self.image_dir, img["file_name"]), int(img["width"]), int(img["height"])

    def _person_records(self, image_id) -> List[Dict]:
        """All person annotations of one image as records (crowd included)."""
        path, width, height = self._image_info(image_id)
        out = []
        for ann in self.coco.imgToAnns.get(image_id, []):
            if self._person_cats is not None and ann.get("category_id") not in self._person_cats:
                continue
            kp = np.asarray(ann["keypoints"], np.float32).reshape(self.num_joints, 3)
            box = clean_bbox(ann["bbox"], width, height)
            area = float(ann["area"]) if "area" in ann else float(ann["bbox"][2]) * float(ann["bbox"][3])
            out.append({"image_path": path, "image_id": image_id, "instance_id": ann["id"], "keypoints": kp,
                        "bbox": box, "area": area, "iscrowd": int(ann.get("iscrowd", 0))})
        return out

    def _keep_top_down(self, r: Dict) -> bool:
        x1, y1, x2, y2 = r["bbox"]
        return (r["iscrowd"] == 0 and int((r["keypoints"][:, 2] > 0).sum()) >= self.min_keypoints
                and r["area"] > 0 and x2 >= x1 and y2 >= y1)

    def _detection_records(self, det_file: str, thr: float) -> List[Dict]:
        dets = read_json(det_file, "detection file")
        if not isinstance(dets, list):
            raise DatasetFormatError(det_file, "expected a list of COCO detection results")
        out = []
        for k, d in enumerate(dets):
            if not isinstance(d, dict) or any(key not in d for key in ("image_id", "bbox", "score")):
                raise DatasetFormatError(det_file, f"detection {k} lacks image_id / bbox / score")
            if d.get("category_id", 1) != 1 or float(d["score"]) < thr:
                continue
            if d["image_id"] not in self.coco.imgs:
                raise DatasetFormatError(det_file, f"detection {k} refers to unknown image_id {d['image_id']!r}")
            path, _, _ = self._image_info(d["image_id"])
            x, y, w, h = (float(v) for v in d["bbox"])
            out.append({"image_path": path, "image_id": d["image_id"], "instance_id": k,
                        "keypoints": np.zeros((self.num_joints, 3), np.float32),
                        "bbox": np.array([x, y, x + w, y + h], np.float32), "area": w * h, "iscrowd": 0,
                        "score": float(d["score"])})
        return out

    def _sample(self, r: Dict) -> PoseSample:
        center, scale = box_center_scale(r["bbox"], self.aspect_ratio, self.padding)
        extra = {"area": r["area"], "iscrowd": r["iscrowd"]}
        if "score" in r:
            extra["score"] = r["score"]
        return PoseSample(image_path=r["image_path"], keypoints=r["keypoints"].copy(), bbox=r["bbox"].copy(),
                          center=center, scale=scale, spec=self.spec, image_id=r["image_id"],
                          instance_id=r["instance_id"], category="person", extra=extra)

    # ------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._records)

    def annotation(self, i: int) -> PoseSample:
        """Instance ``i`` without loading the image (``image`` is None)."""
        return self._sample(self._records[i])

    def __getitem__(self, i: int) -> PoseSample:
        s = self.annotation(i)
        s.image = read_image(s.image_path)     # DatasetFormatError naming the image if missing
        return s

    def people(self, image_id) -> List[PoseSample]:
        """All non-crowd persons of one image (bottom-up training), in file order."""
        if image_id not in self.coco.imgs:
            raise KeyError(f"{self.ann_file}: no image with id {image_id!r}")
        return [self._sample(r) for r in self._person_records(image_id) if r["iscrowd"] == 0]

    def crowd_boxes(self, image_id) -> np.ndarray:
        """``(M, 4)`` cleaned ``x1, y1, x2, y2`` of the image's crowd regions (loss masks)."""
        if image_id not in self.coco.imgs:
            raise KeyError(f"{self.ann_file}: no image with id {image_id!r}")
        boxes = [r["bbox"] for r in self._person_records(image_id) if r["iscrowd"]]
        return np.stack(boxes) if boxes else np.zeros((0, 4), np.float32)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.ann_file!r}, {len(self)} instances, {len(self.image_ids)} images, "
                f"{'gt' if self.use_gt_boxes else 'detected'} boxes)")
