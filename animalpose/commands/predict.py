"""``animalpose predict``: keypoints on images or videos, with skeleton overlays."""
from __future__ import annotations

import json
import os

import numpy as np

from ._common import add_runtime_options
from ._progress import Steps

VIDEO_EXT = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")


def register(sub, formatter):
    p = sub.add_parser(
        "predict", formatter_class=formatter, help="predict keypoints on images or videos",
        description="Run a checkpoint on images and/or videos. Each image (video frame) is one top-down instance "
                    "boxed by --bbox, or the whole frame when no box is given. Writes OUT/keypoints.json "
                    "(per file and frame: box, joints, [x, y, score] in image pixels), an overlay PNG per image "
                    "and an overlay MP4 per video with the skeleton drawn.")
    p.add_argument("inputs", nargs="+", metavar="IMAGE_OR_VIDEO", help="image files or videos (" +
                   ", ".join(VIDEO_EXT) + ")")
    p.add_argument("--checkpoint", required=True, help="checkpoint written by animalpose")
    p.add_argument("--bbox", type=float, nargs=4, metavar=("X1", "Y1", "X2", "Y2"), default=None,
                   help="instance box in pixels (default: the whole image)")
    p.add_argument("--flip", action="store_true", help="flip test")
    p.add_argument("--min-score", type=float, default=0.1, help="joints below this score are not drawn")
    p.add_argument("--max-frames", type=int, default=None, help="stop each video after this many frames")
    add_runtime_options(p, "runs/predict", seed=False)
    return p


def _box(args, w, h):
    return args.bbox if args.bbox is not None else [0.0, 0.0, float(w - 1), float(h - 1)]


def _draw(tm, image, kp, min_score):
    from ..visualize import draw_pose
    shown = kp.copy()
    shown[:, 2] = (kp[:, 2] >= min_score).astype(np.float32)
    return draw_pose(image, shown, tm.spec, show_hidden=False)


def run(args) -> int:
    import cv2
    from datasets.sample import read_image
    from ..engine.inference import load_trained, predict_boxes
    from ..engine.runtime import resolve_device

    for path in args.inputs:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path}: input not found")
    tm = load_trained(args.checkpoint, resolve_device(args.device))
    os.makedirs(args.out, exist_ok=True)
    records = []
    for path in args.inputs:
        stem = os.path.splitext(os.path.basename(path))[0]
        if path.lower().endswith(VIDEO_EXT):
            cap = cv2.VideoCapture(path)
            if not cap.isOpened():
                raise ValueError(f"{path}: cannot open video")
            fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
            total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or 0
            if args.max_frames:
                total = min(total, args.max_frames) if total else args.max_frames
            bar = Steps(f"predict {os.path.basename(path)}", max(total, 1), args.quiet)
            writer, frame = None, 0
            out_video = os.path.join(args.out, f"{stem}_pose.mp4")
            while args.max_frames is None or frame < args.max_frames:
                ok, bgr = cap.read()
                if not ok:
                    break
                rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                h, w = rgb.shape[:2]
                box = _box(args, w, h)
                kp = predict_boxes(tm, rgb, [box], flip=args.flip)[0]
                records.append({"file": path, "frame": frame, "bbox": list(map(float, box)),
                                "keypoints": kp.round(3).tolist()})
                if writer is None:
                    writer = cv2.VideoWriter(out_video, cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
                writer.write(cv2.cvtColor(_draw(tm, rgb, kp, args.min_score), cv2.COLOR_RGB2BGR))
                frame += 1
                bar.next()
            bar.finish()
            cap.release()
            if writer is not None:
                writer.release()
            if frame == 0:
                raise ValueError(f"{path}: video has no readable frame")
        else:
            rgb = read_image(path)
            h, w = rgb.shape[:2]
            box = _box(args, w, h)
            kp = predict_boxes(tm, rgb, [box], flip=args.flip)[0]
            records.append({"file": path, "frame": None, "bbox": list(map(float, box)),
                            "keypoints": kp.round(3).tolist()})
            cv2.imwrite(os.path.join(args.out, f"{stem}_pose.png"),
                        cv2.cvtColor(_draw(tm, rgb, kp, args.min_score), cv2.COLOR_RGB2BGR))
    out = {"checkpoint": args.checkpoint, "spec": tm.spec.name, "joints": list(tm.spec.joints),
           "predictions": records}
    with open(os.path.join(args.out, "keypoints.json"), "w") as f:
        json.dump(out, f, indent=1)
    print(f"wrote {len(records)} predictions to {os.path.join(args.out, 'keypoints.json')} and overlays in {args.out}")
    return 0
