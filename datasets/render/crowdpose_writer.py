"""Convert a rendered COCO person-keypoints split into the CrowdPose format.

Layout written (the release's, see :mod:`datasets.crowdpose`)::

    root/json/crowdpose_{split}.json
    root/images/{image_id}.jpg          (ids offset by ``id_offset``: splits share the folder)

Joints: the 12 limb joints are the COCO ones (same names, same order).  The
renderer outputs only the 17 COCO keypoints (``human.render_people``; its
internal neck and head-centre construction points are not part of
``Scene.keypoints``), so head and neck are derived from them:

* ``neck`` = midpoint of the two shoulders, when both are labelled; ``v = 2``
  when both are visible, else 1;
* ``head`` (head top) = face centre (mean of the labelled nose / eyes / ears)
  pushed away from the neck by :data:`HEAD_TOP_EXTENSION` of the neck-to-face
  distance, when the neck and a face point are labelled and the point falls in
  the image; ``v = 2`` when a face point is visible, else 1.

Unlabelled joints are ``0, 0, 0``.  ``num_keypoints`` counts the labelled limb
joints (head and neck excluded), as every annotation of the release's example
file does; annotations carry no ``area`` (nor does that file).  Each image gets
``crowdIndex`` = :func:`datasets.crowdpose.crowd_index` of its persons (14
joints, COCO boxes), rounded to two decimals like the release's values.
"""
from __future__ import annotations

import json
import os
import shutil
from typing import Dict, List

import numpy as np

from animalpose.keypoints import get_spec

from ..coco import load_coco_json
from ..crowdpose import crowd_index
from ..errors import DatasetFormatError

__all__ = ["HEAD_TOP_EXTENSION", "coco17_to_crowdpose14", "crowdpose_category", "convert_coco_split"]

#: Head top = face centre + HEAD_TOP_EXTENSION * (face centre - neck).  0.6 follows the
#: renderer's default proportions (human.DEFAULT_SHAPE: neck 0.05, head radius 0.068 of the
#: height, shoulders 0.02 below the neck joint): shoulder midpoint -> face centre about 0.12,
#: shoulder midpoint -> top of the head ellipse about 0.19 of the height.
HEAD_TOP_EXTENSION = 0.6

_COCO = get_spec("coco17")
_CROWD = get_spec("crowdpose14")
_LIMBS = [j for j in _CROWD.joints if j not in ("head", "neck")]
_SRC = np.array([_COCO.index(j) for j in _LIMBS])
_DST = np.array([_CROWD.index(j) for j in _LIMBS])
_FACE = np.array([_COCO.index(j) for j in ("nose", "left_eye", "right_eye", "left_ear", "right_ear")])
_LSH, _RSH = _COCO.index("left_shoulder"), _COCO.index("right_shoulder")
_HEAD, _NECK = _CROWD.index("head"), _CROWD.index("neck")


def crowdpose_category() -> Dict:
    """The CrowdPose ``person`` category: the 14 joint names and the 1-based skeleton."""
    return {"supercategory": "person", "id": 1, "name": "person", "keypoints": list(_CROWD.joints),
            "skeleton": [[a + 1, b + 1] for a, b in _CROWD.skeleton]}


def coco17_to_crowdpose14(keypoints, width, height) -> np.ndarray:
    """``(N, 17, 3)`` COCO keypoints -> ``(N, 14, 3)`` CrowdPose keypoints (module docstring).

    ``width`` / ``height``: image size, a number or one per person (head tops outside are unlabelled).
    """
    kp = np.asarray(keypoints, dtype=np.float64).reshape(-1, _COCO.num_joints, 3)
    w = np.broadcast_to(np.asarray(width, dtype=np.float64), kp.shape[:1])
    h = np.broadcast_to(np.asarray(height, dtype=np.float64), kp.shape[:1])
    out = np.zeros((kp.shape[0], _CROWD.num_joints, 3))
    out[:, _DST] = kp[:, _SRC]

    ls, rs = kp[:, _LSH], kp[:, _RSH]
    has_neck = (ls[:, 2] > 0) & (rs[:, 2] > 0)
    neck = 0.5 * (ls[:, :2] + rs[:, :2])
    out[:, _NECK, :2] = np.where(has_neck[:, None], neck, 0.0)
    out[:, _NECK, 2] = np.where(has_neck, np.where((ls[:, 2] == 2) & (rs[:, 2] == 2), 2, 1), 0)

    face = kp[:, _FACE]
    labelled = face[..., 2] > 0
    n = labelled.sum(1)
    centre = (face[..., :2] * labelled[..., None]).sum(1) / np.maximum(n, 1)[:, None]
    top = centre + HEAD_TOP_EXTENSION * (centre - neck)
    inside = (top[:, 0] >= 0) & (top[:, 0] <= w - 1) & (top[:, 1] >= 0) & (top[:, 1] <= h - 1)
    has_head = has_neck & (n > 0) & inside
    out[:, _HEAD, :2] = np.where(has_head[:, None], top, 0.0)
    out[:, _HEAD, 2] = np.where(has_head, np.where((face[..., 2] == 2).any(1), 2, 1), 0)
    return out


def convert_coco_split(coco_root, coco_split: str, root, split: str, id_offset: int = 0) -> List[Dict]:
    """Write the COCO split ``coco_root/annotations/person_keypoints_{coco_split}.json`` (images in
    ``coco_root/{coco_split}/``) as ``root/json/crowdpose_{split}.json`` plus ``root/images/``.

    Image ids become ``id_offset + id`` and files ``{image_id}.jpg`` (bytes copied unchanged);
    annotation ids, boxes and the crowd flag are kept.  The same input gives a byte-identical output.

    Returns one dict per written annotation: ``image_path``, ``image_id``, ``id``, ``keypoints``
    ``(14, 3)`` float32 (the stored numbers), ``bbox`` ``(4,)`` ``x, y, w, h``, ``num_keypoints``,
    ``crowd_index`` (of its image).
    """
    src = os.path.join(str(coco_root), "annotations", f"person_keypoints_{coco_split}.json")
    data = load_coco_json(src)
    images, anns = data["images"], data["annotations"]
    size = {img["id"]: (img["width"], img["height"]) for img in images}
    kp = coco17_to_crowdpose14([a["keypoints"] for a in anns], [size[a["image_id"]][0] for a in anns],
                               [size[a["image_id"]][1] for a in anns]).reshape(-1, _CROWD.num_joints, 3)
    kp[..., :2] = np.round(kp[..., :2], 2)
    boxes = np.asarray([a["bbox"] for a in anns], dtype=np.float64).reshape(-1, 4)
    num = np.count_nonzero(kp[:, _DST, 2] > 0, axis=1)
    flat = kp.astype(object)                                # JSON numbers: x, y floats, v ints
    flat[..., 2] = kp[..., 2].astype(int)
    flat = flat.reshape(kp.shape[0], 3 * _CROWD.num_joints).tolist()
    rows: Dict = {}
    for n, a in enumerate(anns):
        rows.setdefault(a["image_id"], []).append(n)

    image_dir = os.path.join(str(root), "images")
    json_dir = os.path.join(str(root), "json")
    os.makedirs(image_dir, exist_ok=True)
    os.makedirs(json_dir, exist_ok=True)
    out_images, out_anns, written = [], [], []
    for img in images:
        new_id = int(id_offset) + int(img["id"])
        file_name = f"{new_id}{os.path.splitext(img['file_name'])[1] or '.jpg'}"
        src_img = os.path.join(str(coco_root), coco_split, img["file_name"])
        if not os.path.isfile(src_img):
            raise DatasetFormatError(src_img, "image file is missing")
        dst = os.path.join(image_dir, file_name)
        shutil.copyfile(src_img, dst)
        idx = rows.get(img["id"], [])
        ci = round(crowd_index(kp[idx], boxes[idx]), 2)
        out_images.append({"file_name": file_name, "id": new_id, "height": img["height"], "width": img["width"],
                           "crowdIndex": ci})
        for n in idx:
            a = anns[n]
            out_anns.append({"num_keypoints": int(num[n]), "iscrowd": int(a.get("iscrowd", 0)),
                             "keypoints": flat[n], "image_id": new_id, "bbox": [float(v) for v in a["bbox"]],
                             "category_id": a.get("category_id", 1), "id": a["id"]})
            written.append({"image_path": os.path.abspath(dst), "image_id": new_id, "id": a["id"],
                            "keypoints": kp[n].astype(np.float32), "bbox": boxes[n].copy(),
                            "num_keypoints": int(num[n]), "crowd_index": ci})
    out = {"categories": [crowdpose_category()], "images": out_images, "annotations": out_anns}
    with open(os.path.join(json_dir, f"crowdpose_{split}.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, separators=(",", ":"))
    return written
