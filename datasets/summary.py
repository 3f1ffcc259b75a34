"""Dataset summary: what the real loaders read from a folder, a single annotation
file or a DeepLabCut project (``animalpose summary``).

For each dataset found (:func:`datasets.registry.find_datasets`, the loaders
built exactly as training builds them) :func:`describe` reports the format
(registry name), spec, joint names, instances, images, categories, per-joint
label counts keyed by joint name (``labelled``: ``v > 0``; ``visible``: ``v ==
2`` where the format tells visible from occluded), the mean box size ``(w,
h)`` and, for COCO-style files, the annotations that are not samples
(``skipped``: crowd, no labelled joint, empty box).
"""
from __future__ import annotations

import json
import os
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

from animalpose.keypoints import get_spec

from .registry import find_datasets, open_file

__all__ = ["collect", "describe", "summarize", "to_markdown"]


def _skipped(ds) -> Optional[Dict[str, int]]:
    """Annotations of a COCO-style loader that are not top-down samples, by reason."""
    if not hasattr(ds, "anns_by_image") or not getattr(ds, "use_gt_boxes", True):
        return None
    out = {"crowd": 0, "no_labelled_joint": 0, "empty_box": 0}
    kept = {(r["image_id"], r["instance_id"]) for r in ds._records}
    for image_id in ds.image_ids:
        for r in ds._image_records(image_id):
            if (image_id, r["instance_id"]) in kept:
                continue
            if r["iscrowd"]:
                out["crowd"] += 1
            elif int((r["keypoints"][:, 2] > 0).sum()) < ds.min_keypoints:
                out["no_labelled_joint"] += 1
            else:
                out["empty_box"] += 1
    return out


def describe(ds, fmt: str = "") -> dict:
    """The summary record of one loader (see the module docstring)."""
    anns = [ds.annotation(i) for i in range(len(ds))]
    spec = get_spec(ds.spec)
    info = {"format": fmt, "spec": spec.name, "joints": list(spec.joints), "instances": len(anns),
            "images": len({a.image_path for a in anns})}
    src = getattr(ds, "ann_file", None) or getattr(ds, "root", None)
    if src:
        info["source"] = str(src)
    if getattr(ds, "split_source", None):
        info["split"] = ds.split_source
    skipped = _skipped(ds)
    if skipped is not None:
        info["skipped"] = skipped
    if not anns:
        return info
    kp = np.stack([a.keypoints for a in anns])
    lab, vis = kp[..., 2] > 0, kp[..., 2] == 2
    boxes = np.stack([a.bbox for a in anns])
    info["labelled"] = {j: int(n) for j, n in zip(spec.joints, lab.sum(0))}
    info["visible"] = {j: int(n) for j, n in zip(spec.joints, vis.sum(0))}
    info["labelled_percent"] = {j: round(100.0 * float(v), 1) for j, v in zip(spec.joints, lab.mean(0))}
    info["mean_labelled_joints"] = round(float(lab.sum(1).mean()), 2)
    info["mean_box_size"] = [round(float(v), 1) for v in (boxes[:, 2:] - boxes[:, :2]).mean(0)]
    if anns[0].video_id is not None:
        info["videos"] = len({a.video_id for a in anns})
    cats = [a.category for a in anns if a.category]
    if cats:
        info["categories"] = {c: cats.count(c) for c in sorted(set(cats))}
    return info


def collect(path: str, images: Optional[str] = None) -> List[Tuple[str, str, Callable]]:
    """``(format, label, open)`` of the datasets at ``path``: a folder holding any registered
    layouts (or a DeepLabCut project), or one annotation file (``images``: its image folder)."""
    if os.path.isfile(path):
        if not path.endswith(".json"):
            raise ValueError(f"{path}: a single annotation file must be a COCO-style or Animal-Pose .json")
        from .animal_pose import is_official_file
        fmt = "animalpose" if is_official_file(path) else "coco_keypoints"
        return [(fmt, os.path.splitext(os.path.basename(path))[0], lambda: open_file(path, images))]
    if not os.path.isdir(path):
        raise FileNotFoundError(f"{path}: data folder not found (nor an annotation file)")
    found = find_datasets(path)
    if not found:
        raise FileNotFoundError(f"{path}: no dataset found (expected synthetic_animal/, behaviorDiscovery2.0/, "
                                "animalpose/, coco/, crowdpose/, ap10k/, <name>/annotations/*.json, a DeepLabCut "
                                "project, or give one annotation .json)")
    return found


def summarize(path: str, out: str, images: Optional[str] = None) -> Dict[str, dict]:
    """Describe every dataset at ``path``; write ``out/summary.json`` and ``out/summary.md``."""
    summary = {label: describe(opener(), fmt) for fmt, label, opener in collect(path, images)}
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write(to_markdown(summary))
    return summary


def to_markdown(summary: dict) -> str:
    lines = ["| dataset | format | spec | images | instances | videos | labelled joints / instance | "
             "mean box (w x h) |", "|---|---|---|---|---|---|---|---|"]
    for name, s in summary.items():
        box = s.get("mean_box_size", ["-", "-"])
        lines.append(f"| {name} | {s['format']} | {s['spec']} | {s['images']} | {s['instances']} | "
                     f"{s.get('videos', '-')} | {s.get('mean_labelled_joints', '-')} | {box[0]} x {box[1]} |")
    return "\n".join(lines) + "\n"
