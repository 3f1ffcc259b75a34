"""Dataset summary: read every dataset found under a folder with the real
loaders and report counts, per-joint visibility and a preview mosaic."""
from __future__ import annotations

import glob
import json
import os
from typing import Dict, List

import cv2
import numpy as np

from animalpose.keypoints import get_spec
from animalpose.visualize import draw_pose, grid

from .animal_pose import AnimalPose
from .synthetic_animal import SyntheticAnimal
from .tigdog import TigDog


def discover(root: str) -> Dict[str, object]:
    """Name -> dataset object for every dataset found under ``root``."""
    found: Dict[str, object] = {}
    for d in sorted(glob.glob(os.path.join(root, "synthetic_animal", "*_combineds5r5_texture"))):
        animal = os.path.basename(d)[: -len("_combineds5r5_texture")]
        for split in ("train", "valid"):
            found[f"synthetic/{animal}/{split}"] = SyntheticAnimal(os.path.join(root, "synthetic_animal"), animal, split)
    for d in sorted(glob.glob(os.path.join(root, "behaviorDiscovery2.0", "ranges", "*"))):
        animal = os.path.basename(d)
        for split in ("train", "test"):
            found[f"tigdog/{animal}/{split}"] = TigDog(root, animal, split)
    if os.path.isfile(os.path.join(root, "animalpose", "keypoints.json")):
        found["animalpose/all"] = AnimalPose(os.path.join(root, "animalpose"))
    for ann in sorted(glob.glob(os.path.join(root, "coco", "annotations", "person_keypoints_*.json"))):
        from .coco import CocoKeypoints
        split = os.path.basename(ann)[len("person_keypoints_"):-len(".json")]
        found[f"coco/{split}"] = CocoKeypoints.from_root(os.path.join(root, "coco"), split)
    return found


def describe(ds) -> dict:
    anns = [ds.annotation(i) for i in range(len(ds))]
    spec = get_spec(ds.spec)
    info = {"spec": spec.name, "instances": len(anns), "images": len({a.image_path for a in anns})}
    if not anns:
        return info
    kp = np.stack([a.keypoints for a in anns])
    vis = kp[..., 2] > 0
    boxes = np.stack([a.bbox for a in anns])
    info["mean_visible_joints"] = round(float(vis.sum(1).mean()), 2)
    info["mean_box_size"] = [round(float(v), 1) for v in (boxes[:, 2:] - boxes[:, :2]).mean(0)]
    info["visibility_percent"] = {j: round(100.0 * float(v), 1) for j, v in zip(spec.joints, vis.mean(0))}
    if anns[0].video_id is not None:
        info["shots"] = len({a.video_id for a in anns})
    cats = [a.category for a in anns if a.category]
    if cats:
        info["categories"] = {c: cats.count(c) for c in sorted(set(cats))}
    return info


def summarize(root: str, out: str, preview_per_set: int = 4) -> dict:
    """Write ``summary.json``, ``summary.md`` and ``preview.png`` to ``out``; return the summary."""
    if not os.path.isdir(root):
        raise FileNotFoundError(f"{root}: data folder not found")
    found = discover(root)
    if not found:
        raise FileNotFoundError(f"{root}: no dataset found (expected synthetic_animal/, behaviorDiscovery2.0/, "
                                f"animalpose/ or coco/)")
    os.makedirs(out, exist_ok=True)
    summary = {name: describe(ds) for name, ds in found.items()}
    tiles: List[np.ndarray] = []
    for name, ds in found.items():
        n = len(ds)
        for i in np.linspace(0, n - 1, min(n, preview_per_set)).astype(int) if n else []:
            s = ds[int(i)]
            img = draw_pose(s.image, s.keypoints, s.spec)
            x1, y1, x2, y2 = [int(v) for v in s.bbox]
            cv2.rectangle(img, (x1, y1), (x2, y2), (255, 255, 0), 1)
            cv2.putText(img, name, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
            tiles.append(img)
    if tiles:
        mosaic = grid(tiles, cols=preview_per_set, tile=(240, 180))
        cv2.imwrite(os.path.join(out, "preview.png"), cv2.cvtColor(mosaic, cv2.COLOR_RGB2BGR))
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write(to_markdown(summary))
    return summary


def to_markdown(summary: dict) -> str:
    lines = ["| dataset | spec | images | instances | shots | visible joints / instance | mean box (w x h) |",
             "|---|---|---|---|---|---|---|"]
    for name, s in summary.items():
        box = s.get("mean_box_size", ["-", "-"])
        lines.append(f"| {name} | {s['spec']} | {s['images']} | {s['instances']} | {s.get('shots', '-')} | "
                     f"{s.get('mean_visible_joints', '-')} | {box[0]} x {box[1]} |")
    return "\n".join(lines) + "\n"
