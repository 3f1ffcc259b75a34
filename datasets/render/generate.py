"""Presets that render the kit's built-in data in the real on-disk formats.

Output layout (the same as a real ``animal_data`` folder plus COCO):

    <out>/synthetic_animal/<animal>_combineds5r5_texture/   CC-SSL source domain
    <out>/behaviorDiscovery2.0/                             TigDog-layout target videos
    <out>/real_animal/<animal>/{train,valid}_idxs_by_video.npy   split files in the official format
    <out>/animalpose/keypoints.json, images/                Animal-Pose format
    <out>/coco/annotations/person_keypoints_{train,val}2017.json, {train,val}2017/
    <out>/crowdpose/json/crowdpose_{train,val}.json, images/   the coco people in CrowdPose format
    <out>/ap10k/annotations/ap10k-{train,val,test}-split1.json, data/   AP-10K-style COCO files
    <out>/dlc/demo-Renderer-2026-01-01/                     a DeepLabCut project
    <out>/MANIFEST.json                                     preset, seed and counts

Each job draws from its own seed stream, so the result is identical for a
seed whatever the number of worker processes.  The ``crowdpose`` part renders
the same people as ``coco`` (same seeds, in a temporary folder) and converts
them with :func:`datasets.render.crowdpose_writer.convert_coco_split`.
"""
from __future__ import annotations

import json
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

PARTS = ("synthetic", "tigdog", "animalpose", "coco", "crowdpose", "ap10k", "dlc")
#: Parts rendered when none are named (``crowdpose`` re-renders the ``coco`` people: opt-in).
DEFAULT_PARTS = ("synthetic", "tigdog", "animalpose", "coco", "ap10k", "dlc")
#: First CrowdPose image id (train; val follows the train ids): the splits share ``images/``.
CROWDPOSE_FIRST_ID = 100000


@dataclass(frozen=True)
class Preset:
    """Sizes of one generation preset."""
    name: str
    synthetic_size: Tuple[int, int]
    synthetic_images: int                 # per animal
    video_size: Tuple[int, int]
    shots: int                            # labelled shots per animal
    frames_per_shot: int
    animalpose_images: int
    coco_train: int
    coco_val: int
    image_size: Tuple[int, int] = (320, 240)
    synthetic_animals: Tuple[str, ...] = ("horse", "tiger")
    tigdog_animals: Tuple[str, ...] = ("horse", "tiger")
    ap10k_images: Tuple[int, int, int] = (6, 3, 3)      # train, val, test
    dlc_videos: int = 2
    dlc_frames: int = 4                                  # labelled frames per video
    description: str = ""


PRESETS: Dict[str, Preset] = {
    "tiny": Preset("tiny", (192, 144), 12, (192, 144), 3, 8, 10, 8, 4, (192, 144),
                   description="a few seconds; used by the tests"),
    "demo": Preset("demo", (320, 240), 400, (320, 240), 20, 16, 240, 240, 80, ap10k_images=(120, 40, 40),
                   dlc_videos=3, dlc_frames=20, description="under a minute on 2 CPU cores; used by `animalpose demo`"),
    "full": Preset("full", (640, 480), 10000, (640, 360), 50, 100, 4000, 20000, 2000, (480, 360),
                   ap10k_images=(2000, 500, 500), dlc_videos=6, dlc_frames=100, description="paper-sized (10,000 synthetic images per animal, ~5,000 frames per animal); "
                               "hours on a CPU"),
}


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}") from None


def _job_synthetic(out, animal, n, seed, size):
    from .animal_writers import write_synthetic_animal
    w = write_synthetic_animal(os.path.join(out, "synthetic_animal"), animal, n, seed, size)
    return {"part": "synthetic", "animal": animal, "images": len(w)}


def write_tigdog_split(out: str, animal: str, written) -> None:
    """Split files in the official format for rendered TigDog videos (``write_tigdog``'s return):
    ``out/real_animal/<animal>/{train,valid}_idxs_by_video.npy``, indices into all labelled frames,
    20 % of the shots (seed 0) in the test split."""
    from ..tigdog import MIN_VISIBLE, video_split
    train, test = video_split([r["shot_id"] for r in written], 0.2, seed=0)
    ok = np.array([(r["joints"][:, 2] > 0).sum() >= MIN_VISIBLE for r in written])
    shot = np.array([r["shot_id"] for r in written])
    d = os.path.join(out, "real_animal", animal)
    os.makedirs(d, exist_ok=True)
    np.save(os.path.join(d, "train_idxs_by_video.npy"), np.nonzero(ok & np.isin(shot, train))[0])
    np.save(os.path.join(d, "valid_idxs_by_video.npy"), np.nonzero(ok & np.isin(shot, test))[0])


def _job_tigdog(out, animal, shots, frames, seed, size):
    from .animal_writers import write_tigdog
    w = write_tigdog(out, animal, shots, frames, seed, size)
    write_tigdog_split(out, animal, w)
    return {"part": "tigdog", "animal": animal, "labelled_frames": len(w), "shots": shots}


def _job_animalpose(out, n, seed, size):
    from .animal_writers import write_animalpose
    w = write_animalpose(out, n, seed, size)
    return {"part": "animalpose", "images": n, "instances": len(w)}


def _job_coco(out, split, n, seed, size):
    from .coco_writer import render_coco_split
    w = render_coco_split(os.path.join(out, "coco"), split, n, seed=seed, image_size=size)
    return {"part": "coco", "split": split, "images": n, "instances": len(w)}


def _job_crowdpose(out, coco_split, split, n, seed, size, id_offset):
    import tempfile
    from .coco_writer import render_coco_split
    from .crowdpose_writer import convert_coco_split
    with tempfile.TemporaryDirectory(prefix="animalpose_coco_") as tmp:
        render_coco_split(tmp, coco_split, n, seed=seed, image_size=size)
        w = convert_coco_split(tmp, coco_split, os.path.join(out, "crowdpose"), split, id_offset=id_offset)
    return {"part": "crowdpose", "split": split, "images": n, "instances": len(w)}


def _job_ap10k(out, counts, seed, size):
    from .animal_writers import write_ap10k
    w = write_ap10k(out, dict(zip(("train", "val", "test"), counts)), seed, size)
    return {"part": "ap10k", "images": int(sum(counts)), "instances": sum(len(v) for v in w.values())}


def _job_dlc(out, videos, frames, seed, size):
    from .animal_writers import write_dlc_project
    w = write_dlc_project(out, videos, frames, seed, size)
    return {"part": "dlc", "videos": videos, "frames": sum(len(v) for v in w.values())}


def plan(preset: Preset, out: str, seed: int, parts: Sequence[str] = DEFAULT_PARTS) -> List[Tuple[Callable, tuple]]:
    """The independent jobs of a preset, largest first."""
    jobs: List[Tuple[Callable, tuple]] = []
    if "synthetic" in parts:
        for a in preset.synthetic_animals:
            jobs.append((_job_synthetic, (out, a, preset.synthetic_images, seed, preset.synthetic_size)))
    if "tigdog" in parts:
        for a in preset.tigdog_animals:
            jobs.append((_job_tigdog, (out, a, preset.shots, preset.frames_per_shot, seed, preset.video_size)))
    if "animalpose" in parts:
        jobs.append((_job_animalpose, (out, preset.animalpose_images, seed, preset.image_size)))
    if "coco" in parts:
        jobs.append((_job_coco, (out, "train2017", preset.coco_train, seed, preset.image_size)))
        jobs.append((_job_coco, (out, "val2017", preset.coco_val, seed + 7919, preset.image_size)))
    if "crowdpose" in parts:
        first = CROWDPOSE_FIRST_ID - 1          # COCO image ids start at 1
        jobs.append((_job_crowdpose, (out, "train2017", "train", preset.coco_train, seed, preset.image_size,
                                      first)))
        jobs.append((_job_crowdpose, (out, "val2017", "val", preset.coco_val, seed + 7919, preset.image_size,
                                      first + preset.coco_train)))
    if "ap10k" in parts:
        jobs.append((_job_ap10k, (out, preset.ap10k_images, seed, preset.image_size)))
    if "dlc" in parts:
        jobs.append((_job_dlc, (out, preset.dlc_videos, preset.dlc_frames, seed, preset.image_size)))
    return jobs


def generate(preset: str, out: str, seed: int = 0, workers: int = 1, parts: Sequence[str] = DEFAULT_PARTS,
             progress: Optional[Callable[[str], None]] = None) -> dict:
    """Render a preset into ``out``; returns (and writes) the manifest."""
    p = get_preset(preset)
    bad = [x for x in parts if x not in PARTS]
    if bad:
        raise ValueError(f"unknown part(s) {', '.join(bad)}; choose from {', '.join(PARTS)}")
    os.makedirs(out, exist_ok=True)
    jobs = plan(p, out, seed, parts)
    t0 = time.time()
    results = []
    if workers <= 1:
        for fn, args in jobs:
            results.append(fn(*args))
            if progress:
                progress(_describe(results[-1]))
    else:
        with ProcessPoolExecutor(max_workers=workers) as ex:
            futs = [ex.submit(fn, *args) for fn, args in jobs]
            for fut in as_completed(futs):
                results.append(fut.result())
                if progress:
                    progress(_describe(results[-1]))
    results.sort(key=lambda r: (PARTS.index(r["part"]), str(r.get("animal", r.get("split", "")))))
    manifest = {"preset": asdict(p), "seed": seed, "parts": list(parts), "jobs": results,
                "seconds": round(time.time() - t0, 2)}
    with open(os.path.join(out, "MANIFEST.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    return manifest


def _describe(r: dict) -> str:
    what = r.get("animal", r.get("split", ""))
    n = {k: v for k, v in r.items() if k not in ("part", "animal", "split")}
    return f"{r['part']} {what}: " + ", ".join(f"{k} {v}" for k, v in n.items())
