"""``animalpose summary``: what the real loaders read from a folder, a file or a DLC project."""
from __future__ import annotations

import os


def register(sub, formatter):
    p = sub.add_parser(
        "summary", formatter_class=formatter, help="count and preview the datasets at a path",
        description="Read every dataset at DATA with the real-format loaders - a folder holding any supported "
                    "layout (synthetic_animal/, behaviorDiscovery2.0/, animalpose/, coco/, crowdpose/, ap10k/, "
                    "<name>/annotations/*.json), a DeepLabCut project folder, or one COCO-style / Animal-Pose "
                    ".json - and write, per dataset, format, spec, joint names, instances, images, categories, "
                    "per-joint label counts and the mean box to OUT/summary.json and summary.md, and a preview "
                    "mosaic (samples with their keypoints drawn) to OUT/preview.png.")
    p.add_argument("--data", required=True, help="folder, DeepLabCut project or annotation .json")
    p.add_argument("--images", default=None, help="image folder of a single annotation file (default: found "
                                                  "beside it, in images/, or the parent of annotations/)")
    p.add_argument("--out", required=True, help="folder for summary.json, summary.md and preview.png")
    p.add_argument("--preview", type=int, default=4, help="preview samples per dataset (0: no preview)")
    return p


def _preview(found, out: str, per_set: int) -> bool:
    import cv2
    import numpy as np

    from ..visualize import draw_pose, grid
    tiles = []
    for _, label, opener in found:
        ds = opener()
        n = len(ds)
        for i in (np.linspace(0, n - 1, min(n, per_set)).astype(int) if n else []):
            s = ds[int(i)]
            img = draw_pose(s.image, s.keypoints, s.spec)
            x1, y1, x2, y2 = [int(v) for v in s.bbox]
            cv2.rectangle(img, (x1, y1), (x2, y2), (255, 255, 0), 1)
            cv2.putText(img, label, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
            tiles.append(img)
    if not tiles:
        return False
    mosaic = grid(tiles, cols=per_set, tile=(240, 180))
    cv2.imwrite(os.path.join(out, "preview.png"), cv2.cvtColor(mosaic, cv2.COLOR_RGB2BGR))
    return True


def run(args) -> int:
    from datasets.summary import collect, summarize, to_markdown
    s = summarize(args.data, args.out, args.images)
    print(to_markdown(s), end="")
    wrote = ["summary.json", "summary.md"]
    if args.preview > 0 and _preview(collect(args.data, args.images), args.out, args.preview):
        wrote.append("preview.png")
    print(f"wrote {args.out}/" + ", ".join(wrote))
    return 0
