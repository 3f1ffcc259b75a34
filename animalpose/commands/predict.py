"""``animalpose predict``: keypoints on images or videos, with skeleton overlays."""
from __future__ import annotations

import json
import math
import os

import numpy as np

from ._common import add_runtime_options, check_number
from ..progress import Steps

VIDEO_EXT = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")


def register(sub, formatter):
    p = sub.add_parser(
        "predict", formatter_class=formatter, help="predict keypoints on images or videos",
        description="Run a checkpoint on images and/or videos. A top-down model predicts one instance per image "
                    "(video frame), boxed by --bbox or the whole frame; a bottom-up (DEKR) model predicts every "
                    "animal or person in it. Writes OUT/keypoints.json (per file, frame and instance: box, joints, "
                    "[x, y, score] in image pixels, and what the score means), an overlay PNG per image and an "
                    "overlay MP4 per video with the skeleton drawn (inputs sharing a file name get _2, _3...).")
    p.add_argument("inputs", nargs="+", metavar="IMAGE_OR_VIDEO", help="image files or videos (" +
                   ", ".join(VIDEO_EXT) + ")")
    p.add_argument("--checkpoint", required=True, help="checkpoint written by animalpose")
    p.add_argument("--bbox", type=float, nargs=4, metavar=("X1", "Y1", "X2", "Y2"), default=None,
                   help="instance box in pixels (default: the whole image; top-down models only)")
    p.add_argument("--flip", action="store_true", help="flip test")
    p.add_argument("--min-score", type=float, default=0.1, help="joints below this score are not drawn")
    p.add_argument("--max-frames", type=int, default=None, help="stop each video after this many frames")
    add_runtime_options(p, "runs/predict", seed=False)
    return p


#: what a joint's score is (written into keypoints.json beside the predictions)
SCORE_MEANING = {
    "topdown": "the decoded heatmap maximum at the joint: not a probability; near 1 where the model is sure, "
               "it can be below 0 where the model sees no joint",
    "bottomup": "joint: the heatmap value at the joint (not a probability, can be below 0); pose score: the "
                "DEKR centre heatmap value times the mean joint score (times the rescore net when given)",
}


def check_options(args) -> None:
    """One line per bad option, before the checkpoint is read."""
    check_number(args.min_score, "--min-score")
    if args.max_frames is not None and args.max_frames < 1:
        raise ValueError(f"--max-frames must be >= 1 (leave it out to read whole videos), got {args.max_frames}")
    if args.bbox is not None:
        x1, y1, x2, y2 = args.bbox
        if not all(math.isfinite(v) for v in args.bbox):
            raise ValueError(f"--bbox must be four finite numbers X1 Y1 X2 Y2, got {args.bbox}")
        if not (x2 > x1 and y2 > y1):
            raise ValueError(f"--bbox must have X2 > X1 and Y2 > Y1 (an inverted or empty box), got {args.bbox}")


def _box(args, path, w, h):
    """The instance box: --bbox, or the whole frame ``[0, 0, w - 1, h - 1]``."""
    if args.bbox is not None:
        x1, y1, x2, y2 = args.bbox
        if x2 < 0 or y2 < 0 or x1 > w - 1 or y1 > h - 1:
            raise ValueError(f"{path}: --bbox {args.bbox} lies outside the {w}x{h} image")
        return [float(v) for v in args.bbox]
    if w < 2 or h < 2:
        raise ValueError(f"{path}: the image is {w}x{h} pixels, too small to predict on (give --bbox for a box)")
    return [0.0, 0.0, float(w - 1), float(h - 1)]


def _draw(tm, image, poses, min_score):
    from ..visualize import draw_pose
    for kp in poses:
        shown = kp.copy()
        shown[:, 2] = (kp[:, 2] >= min_score).astype(np.float32)
        image = draw_pose(image, shown, tm.spec, show_hidden=False)
    return image


def _rounded(kp: np.ndarray) -> list:
    """``(K, 3)`` as lists: pixels to 0.01, scores to 1e-4."""
    return [[round(float(x), 2), round(float(y), 2), round(float(s), 4)] for x, y, s in kp]


class Predictor:
    """The instances of one RGB frame: ``[{"bbox", "keypoints" (K, 3), "score"?}]``; top-down models
    predict the --bbox (or the whole frame), bottom-up (DEKR) ones every animal in it."""

    def __init__(self, tm, args, device):
        from ..engine.config import is_bottomup
        self.tm, self.args = tm, args
        self.bottomup = is_bottomup(tm.cfg)
        if self.bottomup:
            from ..engine.bottomup import load_rescore_net, settings
            if args.bbox is not None:
                raise ValueError(f"--bbox: {args.checkpoint} is a bottom-up (DEKR) model, which finds every "
                                 "animal in the image; leave --bbox out")
            self.settings = settings(tm.cfg)
            self.rescore = load_rescore_net(self.settings.rescore, tm.spec, device)

    def __call__(self, rgb: np.ndarray, path: str) -> list:
        h, w = rgb.shape[:2]
        if self.bottomup:
            from ..engine.bottomup import predict_image
            if w < 2 or h < 2:
                raise ValueError(f"{path}: the image is {w}x{h} pixels, too small to predict on")
            b = self.settings
            poses, scores = predict_image(self.tm.model, rgb, self.tm.codec, self.tm.normalize, self.tm.spec,
                                          self.tm.device, self.args.flip, b.test_scales, b.flip_shift, self.rescore)
            out = []
            for kp, score in zip(poses, scores):
                lo, hi = kp[:, :2].min(0), kp[:, :2].max(0)
                out.append({"bbox": [round(float(v), 2) for v in (*lo, *hi)], "keypoints": kp,
                            "score": round(float(score), 4)})
            return out
        from ..engine.inference import predict_boxes
        box = _box(self.args, path, w, h)
        kp = predict_boxes(self.tm, rgb, [box], flip=self.args.flip)[0]
        return [{"bbox": [round(v, 2) for v in box], "keypoints": kp}]


def _unique_stem(path: str, used: set) -> str:
    """The overlay's name: the input's stem, made unique (``_2``, ``_3``...) when two inputs share it."""
    stem = os.path.splitext(os.path.basename(path))[0]
    name, n = stem, 1
    while name in used:
        n += 1
        name = f"{stem}_{n}"
    used.add(name)
    return name


def _records(path, frame, instances):
    return [{"file": path, "frame": frame, "instance": i, "bbox": inst["bbox"],
             **({"score": inst["score"]} if "score" in inst else {}), "keypoints": _rounded(inst["keypoints"])}
            for i, inst in enumerate(instances)]


def run(args) -> int:
    import cv2
    from datasets.sample import read_image
    from ..engine.inference import load_trained
    from ..engine.runtime import resolve_device

    check_options(args)
    for path in args.inputs:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path}: input not found")
    device = resolve_device(args.device or "auto")
    tm = load_trained(args.checkpoint, device)
    predictor = Predictor(tm, args, device)
    os.makedirs(args.out, exist_ok=True)
    records, overlays, used = [], {}, set()
    for path in args.inputs:
        stem = _unique_stem(path, used)
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
                instances = predictor(rgb, path)
                records.extend(_records(path, frame, instances))
                if writer is None:
                    writer = cv2.VideoWriter(out_video, cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
                writer.write(cv2.cvtColor(_draw(tm, rgb, [i["keypoints"] for i in instances], args.min_score),
                                          cv2.COLOR_RGB2BGR))
                frame += 1
                bar.next()
            bar.finish()
            cap.release()
            if writer is not None:
                writer.release()
            if frame == 0:
                raise ValueError(f"{path}: video has no readable frame")
            overlays[path] = out_video
        else:
            rgb = read_image(path)
            instances = predictor(rgb, path)
            records.extend(_records(path, None, instances))
            overlays[path] = os.path.join(args.out, f"{stem}_pose.png")
            cv2.imwrite(overlays[path], cv2.cvtColor(_draw(tm, rgb, [i["keypoints"] for i in instances],
                                                           args.min_score), cv2.COLOR_RGB2BGR))
    out = {"checkpoint": args.checkpoint, "spec": tm.spec.name, "joints": list(tm.spec.joints),
           "model": "bottomup" if predictor.bottomup else "topdown",
           "keypoints": "[x, y, score] per joint in image pixels",
           "score": SCORE_MEANING["bottomup" if predictor.bottomup else "topdown"],
           "overlays": overlays, "predictions": records}
    with open(os.path.join(args.out, "keypoints.json"), "w") as f:
        json.dump(out, f, indent=1)
    print(f"wrote {len(records)} predictions to {os.path.join(args.out, 'keypoints.json')} and overlays in {args.out}")
    return 0
