"""Write procedural people in the COCO person-keypoints format.

Layout (the real COCO one)::

    root/annotations/person_keypoints_{split}.json
    root/{split}/{image_id:012d}.jpg

Every annotation is what the picture shows: keypoints from
:func:`datasets.render.human.render_people` (v=2 visible, v=1 occluded inside
the image, v=0 outside with x=y=0), bbox / area / polygons of the person's
visible silhouette.  People who would be mostly outside the frame are not
drawn, and people left too hidden by others are removed and the image
re-rendered, so no drawn person lacks an annotation.
"""
from __future__ import annotations

import json
import os
import zlib
from typing import Dict, List

import cv2
import numpy as np

from animalpose.keypoints import get_spec

from . import human

__all__ = ["render_coco_split", "coco_category", "MIN_AREA", "MIN_VISIBLE_FRACTION"]

MIN_AREA = 32                 # px: smaller visible silhouettes are not annotated (nor drawn)
MIN_VISIBLE_FRACTION = 0.2    # visible / unoccluded silhouette area below which a person is dropped
MIN_INSIDE_FRACTION = 0.6     # fraction of a person's box that must lie in the frame for it to be drawn


def coco_category() -> Dict:
    """The COCO ``person`` category with keypoint names and the 1-based skeleton."""
    spec = get_spec("coco17")
    return {"supercategory": "person", "id": 1, "name": "person", "keypoints": list(spec.joints),
            "skeleton": [[a + 1, b + 1] for a, b in spec.skeleton]}


def _inside_fraction(rig: human.Rig, w: int, h: int) -> float:
    pts = np.concatenate([p.polygon for p in rig.parts])
    x0, y0 = pts.min(0)
    x1, y1 = pts.max(0)
    area = max((x1 - x0) * (y1 - y0), 1e-9)
    iw = max(0.0, min(x1, w - 1.0) - max(x0, 0.0))
    ih = max(0.0, min(y1, h - 1.0) - max(y0, 0.0))
    return float(iw * ih / area)


def _sample_people(rng: np.random.Generator, n: int, w: int, h: int) -> List[human.HumanParams]:
    """``n`` people standing on a ground plane: farther = smaller and higher in the frame."""
    people = []
    for _ in range(n):
        t = float(rng.uniform(0.0, 1.0) if n > 1 else rng.uniform(0.0, 0.3))      # 0 near .. 1 far
        size = rng.uniform(0.7, 1.1) if n == 1 else rng.uniform(0.55, 0.9)
        height = h * size * (1.0 - 0.45 * t)
        feet_y = h * (0.97 - 0.3 * t) + rng.normal(0.0, 0.03 * h)
        p = human.random_human(rng, (0.0, 0.0), height, depth=t + rng.uniform(0, 1e-3))
        rig = human.pose_human(p)
        lowest = max(part.polygon[:, 1].max() for part in rig.parts if part.name.endswith("foot"))
        p.root = (float(rng.uniform(0.02, 0.98) * w), float(feet_y - lowest))
        people.append(p)
    return people


def _silhouette(mask: np.ndarray):
    """``(bbox [x, y, w, h], area, polygons)`` of a boolean ``(H, W)`` mask; polygons flat ``[x0, y0, ...]``."""
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    if rows.size == 0:
        return None, 0, []
    bbox = [float(cols[0]), float(rows[0]), float(cols[-1] - cols[0] + 1), float(rows[-1] - rows[0] + 1)]
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    polys = [c.reshape(-1).astype(int).tolist() for c in contours if len(c) >= 3]
    return bbox, int(np.count_nonzero(mask)), polys


def _render_image(rng: np.random.Generator, n: int, w: int, h: int):
    """Sample, filter and render one image; returns the scene and per-person silhouettes."""
    for _ in range(20):
        people = [p for p in _sample_people(rng, n, w, h)
                  if _inside_fraction(human.pose_human(p), w, h) >= MIN_INSIDE_FRACTION]
        scene_seed = int(rng.integers(2 ** 31))
        while people:
            scene = human.render_people(people, (w, h), seed=scene_seed)
            sil = [_silhouette(m) for m in scene.masks]
            ok = [s[1] >= max(MIN_AREA, MIN_VISIBLE_FRACTION * fa) and len(s[2]) > 0 and (kp[:, 2] > 0).sum() >= 1
                  for s, fa, kp in zip(sil, scene.full_areas, scene.keypoints)]
            if all(ok):
                return scene, sil
            people = [p for p, o in zip(people, ok) if o]      # removing people only uncovers the others
        n = 1
    raise RuntimeError("could not place a person in the image")   # unreachable in practice


def render_coco_split(root, split: str, num_images: int, seed: int, image_size=(320, 240),
                      multi_person_fraction: float = 0.3, max_people: int = 4) -> List[Dict]:
    """Render ``num_images`` images of people and write them as a COCO keypoints split.

    Args:
        root: dataset root; writes ``root/annotations/person_keypoints_{split}.json``
            and ``root/{split}/{image_id:012d}.jpg`` (JPEG quality 90).
        split: split name, e.g. ``"train2017"``.
        seed: same seed (and split) -> byte-identical JSON and identical pixels.
        image_size: ``(width, height)``.
        multi_person_fraction: fraction of images with 2..``max_people`` people.

    Returns:
        one dict per written annotation: ``image_path``, ``image_id``, ``id``,
        ``keypoints`` ``(17, 3)`` float32 (exactly the stored numbers), ``bbox``
        ``(4,)`` float64 ``x, y, w, h``, ``area``, ``num_keypoints``.
    """
    w, h = int(image_size[0]), int(image_size[1])
    if num_images < 0 or max_people < 1:
        raise ValueError(f"num_images must be >= 0 and max_people >= 1, got {num_images}, {max_people}")
    image_dir = os.path.join(str(root), split)
    ann_dir = os.path.join(str(root), "annotations")
    os.makedirs(image_dir, exist_ok=True)
    os.makedirs(ann_dir, exist_ok=True)
    split_key = zlib.crc32(split.encode("utf-8"))

    images, annotations, written = [], [], []
    for i in range(num_images):
        rng = np.random.default_rng([int(seed), split_key, i])
        multi = max_people > 1 and rng.random() < multi_person_fraction
        n = int(rng.integers(2, max_people + 1)) if multi else 1
        scene, sil = _render_image(rng, n, w, h)

        image_id = i + 1
        file_name = f"{image_id:012d}.jpg"
        path = os.path.join(image_dir, file_name)
        if not cv2.imwrite(path, cv2.cvtColor(scene.image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90]):
            raise OSError(f"{path}: could not write image")
        images.append({"license": 1, "file_name": file_name, "coco_url": "", "height": h, "width": w,
                       "date_captured": "", "flickr_url": "", "id": image_id})
        for kp, (bbox, area, polys) in zip(scene.keypoints, sil):
            kp = np.round(kp, 2)
            flat = []
            for x, y, v in kp:
                flat += [float(x), float(y), int(v)]
            ann_id = len(annotations) + 1
            num = int((kp[:, 2] > 0).sum())
            annotations.append({"segmentation": polys, "num_keypoints": num, "area": area, "iscrowd": 0,
                                "keypoints": flat, "image_id": image_id, "bbox": bbox, "category_id": 1,
                                "id": ann_id})
            written.append({"image_path": os.path.abspath(path), "image_id": image_id, "id": ann_id,
                            "keypoints": kp.astype(np.float32), "bbox": np.asarray(bbox, np.float64),
                            "area": area, "num_keypoints": num})

    data = {
        "info": {"description": f"animalpose procedural COCO-format person keypoints ({split}, seed {seed})",
                 "url": "", "version": "1.0", "year": 2017, "contributor": "animalpose renderer",
                 "date_created": "2017/09/01"},
        "licenses": [{"url": "", "id": 1, "name": "procedural"}],
        "images": images,
        "annotations": annotations,
        "categories": [coco_category()],
    }
    ann_file = os.path.join(ann_dir, f"person_keypoints_{split}.json")
    with open(ann_file, "w", encoding="utf-8") as f:
        json.dump(data, f, separators=(",", ":"))
    return written
