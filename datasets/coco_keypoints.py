"""Any COCO-style keypoint file: AP-10K, Animal-Pose as mmpose ships it, Horse-10,
MacaquePose, COCO persons, a lab's own species (``dataset: coco_keypoints``).

The file
--------
``images`` (list of ``id, file_name, width, height``), ``annotations`` (list of
``id, image_id, category_id, bbox [x, y, w, h], keypoints [x, y, v] * K``,
optional ``num_keypoints, iscrowd, area``), ``categories`` (``id, name,
keypoints`` (joint names), ``skeleton`` (1-based index pairs)).

Rules (one of each, documented here and in ``docs/datasets.md``)
------------------------------------------------------------------
* **Categories** are chosen explicitly: ``categories`` (names or ids) keeps
  those and a name the file lacks is an error; empty keeps every category of
  the file.  A loader with fixed categories (COCO persons: ``person``) refuses
  a file without them - the filter never switches itself off.  The kept
  categories must name the same joints.
* **Joints** are read **by name** (:func:`animalpose.keypoints.match_joints`)
  into ``spec`` when one is given, so a file listing its joints in another
  order is reordered, and a file whose names do not match is refused naming
  the first joint that does not.  Without ``spec``: the built-in spec whose
  joints the file names (AP-10K's -> ``ap10k17``, with its OKS sigmas), else
  the file's category itself (:func:`animalpose.keypoints.spec_from_coco`;
  flip partners from the left/right names or ``flip_pairs``).  A file that does not name its
  joints is read in the order of the ``spec`` it is declared to have, and
  refused without one.
* **Boxes** are ``x, y, w, h``; ``box_convention`` turns them into the
  sample's ``x1, y1, x2, y2``: ``hrnet`` (HRNet / SimpleBaseline:
  ``x2 = min(W - 1, x1 + max(0, w - 1))``) or ``mmpose`` (mmpose 1.x: ``x`` and
  ``x + w`` clipped to ``[0, W - 1]``).
* **Instances**: a top-down sample is a non-crowd annotation with at least
  ``min_keypoints`` (default 1) labelled joints (``v > 0``, counted from the
  keypoints, not from ``num_keypoints``) and a box of positive size.  Crowd
  annotations (``iscrowd: 1``) are never samples; as in pycocotools they stay
  in the evaluation ground truth, where ``COCOeval`` ignores them and every
  annotation without labelled joints, and bottom-up training masks them.
* **Evaluation ground truth** (:meth:`CocoKeypointSet.coco_ground_truth`) is
  the file's kept annotations in the spec's order, with ``num_keypoints``
  (counted where the file lacks it) and ``area`` (the box ``w * h`` where the
  file lacks it).

pycocotools is not needed to read a file (only for masks and scoring).
"""
from __future__ import annotations

import contextlib
import io
import math
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from animalpose.keypoints import KeypointSpec, builtin_spec_for, get_spec, match_joints, spec_from_coco

from .errors import DatasetFormatError, read_json
from .sample import PoseSample, box_center_scale, read_image

__all__ = ["CocoKeypointSet", "BOX_CONVENTIONS", "box_xyxy", "clean_bbox", "mmpose_bbox"]

BOX_CONVENTIONS = ("hrnet", "mmpose", "darkpose")


def clean_bbox(bbox_xywh: Sequence[float], width: int, height: int) -> np.ndarray:
    """HRNet's box cleaning: COCO ``x, y, w, h`` -> ``(4,)`` float32 ``x1, y1, x2, y2`` clipped
    to a ``width x height`` image (``x2 = min(W - 1, x1 + max(0, w - 1))``, same for y)."""
    x, y, w, h = (float(v) for v in bbox_xywh)
    x1, y1 = max(0.0, x), max(0.0, y)
    x2 = min(width - 1.0, x1 + max(0.0, w - 1.0))
    y2 = min(height - 1.0, y1 + max(0.0, h - 1.0))
    return np.array([x1, y1, x2, y2], np.float32)


def mmpose_bbox(bbox_xywh: Sequence[float], width: int, height: int) -> np.ndarray:
    """mmpose 1.x: ``x1 = clip(x, 0, W - 1)``, ``x2 = clip(x + w, 0, W - 1)`` (same for y)."""
    x, y, w, h = (float(v) for v in bbox_xywh)
    return np.array([min(max(x, 0.0), width - 1.0), min(max(y, 0.0), height - 1.0),
                     min(max(x + w, 0.0), width - 1.0), min(max(y + h, 0.0), height - 1.0)], np.float32)


def box_xyxy(bbox_xywh, width: int, height: int, convention: str = "hrnet") -> np.ndarray:
    """``x, y, w, h`` -> ``x1, y1, x2, y2`` by ``convention`` (:data:`BOX_CONVENTIONS`)."""
    if convention in ("hrnet", "darkpose"):        # darkpose: HRNet's cleaning, its own centre and width
        return clean_bbox(bbox_xywh, width, height)
    if convention == "mmpose":
        return mmpose_bbox(bbox_xywh, width, height)
    raise ValueError(f"box_convention must be one of {', '.join(BOX_CONVENTIONS)}, got {convention!r}")


def _numbers(value, n: int) -> bool:
    if not isinstance(value, list) or len(value) != n:
        return False
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value)


def _is_id(value) -> bool:
    """A COCO id: an integer or a string (hashable, not a bool)."""
    return isinstance(value, (int, str)) and not isinstance(value, bool)


def _positive(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


class CocoKeypointSet:
    """Instances of a COCO-style keypoint file as :class:`PoseSample`.

    Args:
        ann_file: the JSON file.
        image_dir: folder holding the images' ``file_name``.
        spec: read the joints by name into this spec (name, spec file or
            :class:`KeypointSpec`); ``None``: the file's own (see module docstring).
        categories: keep these categories (names or ids); empty: all of the file.
        flip_pairs: pairs of joint names overriding the inferred flip partners
            (file-derived spec only).
        box_convention: ``hrnet`` | ``mmpose`` | ``darkpose`` (module docstring).
        aspect_ratio, padding: crop box convention (``w / h`` of the input; enlargement 1.25).
        min_keypoints: labelled joints an instance needs to be a top-down sample.
        use_gt_boxes: ``False``: instances are the detections of ``det_file``
            (COCO results JSON ``image_id, bbox, score[, category_id]``; keypoints all zero).
        det_score_threshold: detections scoring below it are dropped.

    ``len(ds)``; ``ds[i]`` -> sample with its RGB image; ``ds.annotation(i)``
    without it.  Keypoints ``(K, 3)`` in the spec's order, ``bbox`` ``x1, y1,
    x2, y2``, ``instance_id`` = annotation id, ``category`` = category name,
    ``extra = {"area", "iscrowd", "category_id"}`` (+ ``score`` for detections).
    """

    #: spec and categories a subclass is fixed to (COCO persons: ``coco17``, ``("person",)``)
    default_spec: Optional[str] = None
    default_categories: Tuple[str, ...] = ()
    benchmark = "coco"

    def __init__(self, ann_file, image_dir, spec: Union[str, KeypointSpec, None] = None,
                 categories: Sequence[Union[str, int]] = (), flip_pairs=None, box_convention: str = "hrnet",
                 aspect_ratio: float = 0.75, padding: float = 1.25, min_keypoints: int = 1,
                 use_gt_boxes: bool = True, det_file=None, det_score_threshold: float = 0.0):
        if box_convention not in BOX_CONVENTIONS:
            raise ValueError(f"box_convention must be one of {', '.join(BOX_CONVENTIONS)}, got {box_convention!r}")
        self.ann_file = os.path.abspath(str(ann_file))
        self.image_dir = os.path.abspath(str(image_dir))
        self.aspect_ratio, self.padding = float(aspect_ratio), float(padding)
        self.min_keypoints = int(min_keypoints)
        self.use_gt_boxes = bool(use_gt_boxes)
        self.box_convention = box_convention
        data = self._read_annotations(self.ann_file)
        self._select(data, list(categories) or list(self.default_categories), spec or self.default_spec, flip_pairs)
        self._index(data)
        self._coco = None
        if self.use_gt_boxes:
            self._records = [r for img_id in self.image_ids for r in self._image_records(img_id)
                             if self._keep_top_down(r)]
        else:
            if det_file is None:
                raise ValueError(f"{type(self).__name__}(use_gt_boxes=False) needs det_file "
                                 "(COCO detection results JSON)")
            self._records = self._detection_records(str(det_file), float(det_score_threshold))

    # ------------------------------------------------------------------ reading
    def _read_annotations(self, path: str) -> Dict:
        """The parsed JSON, its top level checked (subclasses add checks)."""
        data = read_json(path)
        if not isinstance(data, dict):
            raise DatasetFormatError(path, f"top level is a {type(data).__name__}, expected a COCO object")
        for key in ("images", "annotations"):
            if not isinstance(data.get(key), list):
                hint = (" (a dict of images: the official Animal-Pose keypoints.json, dataset: animalpose)"
                        if key == "images" and isinstance(data.get(key), dict) else " (not a COCO annotation file?)")
                raise DatasetFormatError(path, f"missing '{key}' list{hint}")
        cats = data.get("categories", [])
        if not isinstance(cats, list) or not all(isinstance(c, dict) and _is_id(c.get("id")) for c in cats):
            raise DatasetFormatError(path, "'categories' must be a list of {id, name, keypoints, ...}")
        return data

    def _select(self, data: Dict, wanted: List, spec, flip_pairs) -> None:
        """Choose the categories and the spec; sets ``categories``, ``category_ids``, ``spec``, ``order``."""
        path = self.ann_file
        cats = data.get("categories", [])
        if wanted:
            chosen = []
            for w in wanted:
                hit = [c for c in cats if (str(c["id"]) == str(w)) or
                       (isinstance(w, str) and str(c.get("name", "")).lower() == w.lower())]
                if not hit:
                    have = ", ".join(f"{c.get('name')} ({c['id']})" for c in cats) or "none"
                    raise DatasetFormatError(path, f"no category {w!r} (the file has: {have})")
                chosen.extend(c for c in hit if c not in chosen)
        else:
            chosen = list(cats)
        self.category_ids = None if not chosen else {c["id"] for c in chosen}
        self.category_names = {c["id"]: str(c.get("name", c["id"])) for c in chosen}
        names = None
        for c in chosen:
            kn = c.get("keypoints")
            if kn is None:
                continue
            if not isinstance(kn, list) or not all(isinstance(n, str) for n in kn):
                raise DatasetFormatError(path, f"category {c.get('name')!r}: 'keypoints' must be a list of joint names")
            if names is None:
                names, first = kn, c
            elif kn != names:
                raise DatasetFormatError(path, f"categories {first.get('name')!r} and {c.get('name')!r} name "
                                               "different joints; select one with `categories`")
        self.file_joints = names
        if spec is not None:
            self.spec_def = get_spec(spec)
            if names is not None:
                order = match_joints(names, self.spec_def, where=path)
                self.order = None if np.array_equal(order, np.arange(len(order))) else order
            else:
                self.order = None               # the file names no joints: the declared spec's order
            self.num_file_joints = len(names) if names is not None else self.spec_def.num_joints
        else:
            if names is None:
                raise DatasetFormatError(path, "the categories name no joints ('keypoints'); give the file's "
                                               "spec (spec: NAME or a spec .yaml)")
            known = builtin_spec_for(names) if flip_pairs is None else None
            if known is not None:                     # the file names the joints of a built-in spec
                self.spec_def = known
                order = match_joints(names, known, where=path)
                self.order = None if np.array_equal(order, np.arange(len(order))) else order
            else:
                label = first.get("name", "") if len(chosen) == 1 else os.path.splitext(os.path.basename(path))[0]
                self.spec_def = spec_from_coco(names, first.get("skeleton"), str(label), flip_pairs, where=path)
                self.order = None
            self.num_file_joints = len(names)
        self.spec = self.spec_def.name

    def _index(self, data: Dict) -> None:
        """Check and index the images and the kept annotations (keypoints in spec order)."""
        path, k = self.ann_file, self.num_file_joints
        self.imgs: Dict[Any, Dict] = {}
        for img in data["images"]:
            missing = [f for f in ("id", "file_name", "width", "height") if not isinstance(img, dict) or f not in img]
            if missing:
                ref = img.get("id") if isinstance(img, dict) else img
                raise DatasetFormatError(path, f"image entry {ref!r} lacks {', '.join(missing)}")
            if not _is_id(img["id"]) or not isinstance(img["file_name"], str) or not img["file_name"]:
                raise DatasetFormatError(path, f"image entry {img['id']!r}: id must be an integer or string and "
                                               "file_name a non-empty string")
            if not (_positive(img["width"]) and _positive(img["height"])):
                raise DatasetFormatError(path, f"image {img['id']!r}: width and height must be positive numbers, "
                                               f"got {img['width']!r}, {img['height']!r}")
            self.imgs[img["id"]] = img
        self.image_ids: List[Any] = list(self.imgs)
        self.anns_by_image: Dict[Any, List[Dict]] = {i: [] for i in self.image_ids}
        self.num_annotations = 0
        for n, ann in enumerate(data["annotations"]):
            if not isinstance(ann, dict):
                raise DatasetFormatError(path, f"annotation {n} is not an object")
            if "category_id" in ann and not _is_id(ann["category_id"]):
                raise DatasetFormatError(path, f"annotation {n}: category_id must be an integer or string, got "
                                               f"{ann['category_id']!r}")
            if self.category_ids is not None and ann.get("category_id") not in self.category_ids:
                continue
            if "id" not in ann:
                raise DatasetFormatError(path, f"annotation {n} has no 'id'")
            aid = ann["id"]
            if not _is_id(aid):
                raise DatasetFormatError(path, f"annotation {n}: id must be an integer or string, got {aid!r}")
            for key in ("image_id", "keypoints", "bbox"):
                if key not in ann:
                    raise DatasetFormatError(path, f"annotation {aid} has no '{key}'")
            if not _is_id(ann["image_id"]) or ann["image_id"] not in self.imgs:
                raise DatasetFormatError(path, f"annotation {aid} refers to unknown image_id {ann['image_id']!r}")
            for key in ("area", "iscrowd"):
                v = ann.get(key, 0)
                if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                    raise DatasetFormatError(path, f"annotation {aid}: {key} must be a finite number >= 0, got {v!r}")
            if not _numbers(ann["keypoints"], 3 * k):
                kp = ann["keypoints"]
                if isinstance(kp, list) and len(kp) == 3 * k:
                    raise DatasetFormatError(path, f"annotation {aid}: keypoints hold NaN, infinite or non-numeric "
                                                   "values")
                got = f"{len(kp)} numbers" if isinstance(kp, list) else type(kp).__name__
                raise DatasetFormatError(path, f"annotation {aid}: keypoints has {got}, expected {3 * k} "
                                               f"numbers ({k} joints of spec {self.spec})")
            if not _numbers(ann["bbox"], 4):
                raise DatasetFormatError(path, f"annotation {aid}: bbox must be 4 finite numbers [x, y, w, h]")
            kp = np.asarray(ann["keypoints"], np.float32).reshape(k, 3)
            if self.order is not None:
                kp = kp[self.order]
            self.anns_by_image[ann["image_id"]].append({**ann, "keypoints": kp})
            self.num_annotations += 1

    # ------------------------------------------------------------------ records
    def _image_info(self, image_id):
        img = self.imgs[image_id]
        return os.path.join(self.image_dir, img["file_name"]), int(img["width"]), int(img["height"])

    def _image_records(self, image_id) -> List[Dict]:
        """Every kept annotation of one image as a record (crowd included)."""
        path, width, height = self._image_info(image_id)
        out = []
        for ann in self.anns_by_image.get(image_id, []):
            box = box_xyxy(ann["bbox"], width, height, self.box_convention)
            area = float(ann["area"]) if "area" in ann else float(ann["bbox"][2]) * float(ann["bbox"][3])
            out.append({"image_path": path, "image_id": image_id, "instance_id": ann["id"],
                        "keypoints": ann["keypoints"], "bbox": box, "area": area,
                        "iscrowd": int(ann.get("iscrowd", 0)), "category_id": ann.get("category_id")})
        return out

    # kept for subclasses / callers of the person loader
    _person_records = _image_records

    def _keep_top_down(self, r: Dict) -> bool:
        x1, y1, x2, y2 = r["bbox"]
        return (r["iscrowd"] == 0 and int((r["keypoints"][:, 2] > 0).sum()) >= self.min_keypoints
                and r["area"] > 0 and x2 >= x1 and y2 >= y1)

    def _detection_records(self, det_file: str, thr: float) -> List[Dict]:
        dets = read_json(det_file, "detection file")
        if not isinstance(dets, list):
            raise DatasetFormatError(det_file, "expected a list of COCO detection results")
        default_cat = min(self.category_ids) if self.category_ids else None
        out = []
        for k, d in enumerate(dets):
            if not isinstance(d, dict) or any(key not in d for key in ("image_id", "bbox", "score")):
                raise DatasetFormatError(det_file, f"detection {k} lacks image_id / bbox / score")
            cat = d.get("category_id", default_cat)
            if (self.category_ids is not None and cat not in self.category_ids) or float(d["score"]) < thr:
                continue
            if d["image_id"] not in self.imgs:
                raise DatasetFormatError(det_file, f"detection {k} refers to unknown image_id {d['image_id']!r}")
            if not _numbers(d["bbox"], 4):
                raise DatasetFormatError(det_file, f"detection {k}: bbox must be 4 numbers [x, y, w, h]")
            path, _, _ = self._image_info(d["image_id"])
            x, y, w, h = (float(v) for v in d["bbox"])
            out.append({"image_path": path, "image_id": d["image_id"], "instance_id": k,
                        "keypoints": np.zeros((self.spec_def.num_joints, 3), np.float32),
                        "bbox": np.array([x, y, x + w, y + h], np.float32), "area": w * h, "iscrowd": 0,
                        "category_id": cat, "score": float(d["score"])})
        return out

    def _sample(self, r: Dict) -> PoseSample:
        center, scale = box_center_scale(r["bbox"], self.aspect_ratio, self.padding, self.box_convention,
                                         detection="score" in r)
        extra = {"area": r["area"], "iscrowd": r["iscrowd"], "category_id": r["category_id"]}
        if "score" in r:
            extra["score"] = r["score"]
        return PoseSample(image_path=r["image_path"], keypoints=r["keypoints"].copy(), bbox=r["bbox"].copy(),
                          center=center, scale=scale, spec=self.spec, image_id=r["image_id"],
                          instance_id=r["instance_id"], category=self.category_names.get(r["category_id"]),
                          extra=extra)

    # ------------------------------------------------------------------ access
    def __len__(self) -> int:
        return len(self._records)

    def annotation(self, i: int) -> PoseSample:
        """Instance ``i`` without loading the image (``image`` is None)."""
        return self._sample(self._records[i])

    def __getitem__(self, i: int) -> PoseSample:
        s = self.annotation(i)
        s.image = read_image(s.image_path)     # DatasetFormatError naming the image if missing
        return s

    def _check_image(self, image_id) -> None:
        if image_id not in self.imgs:
            raise KeyError(f"{self.ann_file}: no image with id {image_id!r}")

    def people(self, image_id) -> List[PoseSample]:
        """All non-crowd instances of one image (bottom-up training), in file order."""
        self._check_image(image_id)
        return [self._sample(r) for r in self._image_records(image_id) if r["iscrowd"] == 0]

    instances = people

    def crowd_boxes(self, image_id) -> np.ndarray:
        """``(M, 4)`` ``x1, y1, x2, y2`` of the image's crowd regions (loss masks)."""
        self._check_image(image_id)
        boxes = [r["bbox"] for r in self._image_records(image_id) if r["iscrowd"]]
        return np.stack(boxes) if boxes else np.zeros((0, 4), np.float32)

    def coco_ground_truth(self) -> Dict:
        """The evaluation ground truth as a COCO dict: every image, the kept annotations (crowd
        and unlabelled ones included) with keypoints in the spec's order, ``num_keypoints`` and
        ``area`` filled where the file lacks them; one category per kept one, naming the spec's joints."""
        anns = []
        for image_id in self.image_ids:
            for ann in self.anns_by_image[image_id]:
                kp = ann["keypoints"]
                a = {k: v for k, v in ann.items() if k != "keypoints"}
                a["keypoints"] = [float(v) for v in kp.reshape(-1)]
                a.setdefault("num_keypoints", int((kp[:, 2] > 0).sum()))
                a.setdefault("area", float(ann["bbox"][2]) * float(ann["bbox"][3]))
                a.setdefault("iscrowd", 0)
                a.setdefault("category_id", 1)
                anns.append(a)
        spec = self.spec_def
        skeleton = [[a + 1, b + 1] for a, b in spec.skeleton]
        ids = sorted(self.category_ids, key=str) if self.category_ids else sorted({a["category_id"] for a in anns})
        cats = [{"id": c, "name": self.category_names.get(c, str(c)), "keypoints": list(spec.joints),
                 "skeleton": skeleton} for c in ids] or [{"id": 1, "name": "object", "keypoints": list(spec.joints),
                                                         "skeleton": skeleton}]
        return {"images": [dict(self.imgs[i]) for i in self.image_ids], "annotations": anns, "categories": cats}

    @property
    def coco(self):
        """A ``pycocotools.coco.COCO`` of :meth:`coco_ground_truth` (built on first use)."""
        if self._coco is None:
            from pycocotools.coco import COCO
            coco = COCO()
            coco.dataset = self.coco_ground_truth()
            with contextlib.redirect_stdout(io.StringIO()):
                coco.createIndex()
            self._coco = coco
        return self._coco

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.ann_file!r}, spec {self.spec}, {len(self)} instances, "
                f"{len(self.image_ids)} images, {'gt' if self.use_gt_boxes else 'detected'} boxes)")
