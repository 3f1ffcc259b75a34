"""Write rendered animals in the real on-disk formats.

* :func:`write_synthetic_animal` - CC-SSL ``synthetic_animal`` layout (source domain).
* :func:`write_tigdog` - TigDog ``behaviorDiscovery2.0`` videos (real-looking target domain).
* :func:`write_animalpose` - Animal-Pose ``keypoints.json`` (real-looking, 5 categories).

Every writer is deterministic for its seed (each image draws from its own
``SeedSequence([seed, stream, index])``) and returns what it wrote, so tests
can check that the loaders read back exactly these keypoints.
"""
from __future__ import annotations

import json
import os
from typing import Dict, List, Sequence

import cv2
import numpy as np
import scipy.io

from animalpose.keypoints import ANIMALPOSE_CATEGORIES, TIGER_REMAP, get_spec

from ..synthetic_animal import NUM_MESH_VERTICES, VERTEX_IDS, animal_dir
from .appearance import background, make_coat, occluder_layer, random_look
from .canvas import visibility
from .quadruped import NUM_LAYERS, Pose, get_species, pose_animal, random_pose
from .scene import Camera, animal_region, random_camera, render_scene, sample_vertices

# rendered species of each CC-SSL / TigDog animal name
SYNTHETIC_SPECIES = {"horse": "horse", "tiger": "tiger", "hound": "dog", "sheep": "sheep"}
TIGDOG_SPECIES = {"horse": "horse", "tiger": "tiger"}
_STREAMS = {"synthetic": 1, "tigdog": 2, "animalpose": 3, "coco": 4, "ap10k": 5, "dlc": 6}


def rng_for(seed: int, stream: str, *index: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed), _STREAMS[stream], *[int(i) for i in index]]))


def _animal_code(name: str) -> int:
    return sum((i + 1) * ord(c) for i, c in enumerate(name))


def _imwrite(path: str, rgb: np.ndarray, quality: int = 95) -> None:
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)] if path.endswith(".jpg") else []
    if not cv2.imwrite(path, bgr, params):
        raise OSError(f"{path}: could not write image")


# ---------------------------------------------------------------------------
# CC-SSL synthetic animals
# ---------------------------------------------------------------------------
def write_synthetic_animal(root: str, animal: str, num_images: int, seed: int = 0, size=(320, 240),
                           valid_fraction: float = 0.2, min_visible: int = 6) -> List[Dict]:
    """Render ``num_images`` synthetic images of ``animal`` into
    ``root/<animal>_combineds5r5_texture`` with 3299-vertex ``P_kpts.npy`` files.

    Images with fewer than ``min_visible`` visible joints are re-drawn, so every
    written image passes the loader's filter.  Returns, per image in file order,
    ``{"prefix", "joints" (18, 3), "vertices" (3299, 3)}``.
    """
    if animal not in SYNTHETIC_SPECIES:
        raise ValueError(f"no renderer species for synthetic animal {animal!r}; known: {', '.join(SYNTHETIC_SPECIES)}")
    sp = get_species(SYNTHETIC_SPECIES[animal])
    folder = animal_dir(root, animal)
    os.makedirs(folder, exist_ok=True)
    vids = np.asarray(VERTEX_IDS[animal])
    others = np.setdiff1d(np.arange(NUM_MESH_VERTICES), vids)
    written = []
    for i in range(num_images):
        rng = rng_for(seed, "synthetic", _animal_code(animal), i)
        for _ in range(20):
            pose = random_pose(rng)
            cam = random_camera(rng, sp, size, fill=(0.4, 0.9), rotation_sd=12.0, inside=1.1)
            scene = render_scene(rng, size, "synthetic", [(sp, pose, cam, None)])
            a = scene.animals[0]
            joints = a.keypoints("tigdog18")
            if joints[:, 2].sum() >= min_visible:
                break
        verts = np.zeros((NUM_MESH_VERTICES, 3), np.float64)
        surf = sample_vertices(rng, a, len(others))
        verts[others, :2] = surf[:, :2]
        verts[others, 2] = visibility(surf[:, :2], surf[:, 2], scene.layer_map)
        verts[vids] = joints
        prefix = (f"{i:05d}_{animal}_{pose.gait}_{pose.phase:.2f}_{cam.scale:.2f}_"
                  f"{cam.rotation:.2f}_{'r' if cam.facing > 0 else 'l'}_")
        base = os.path.join(folder, prefix)
        _imwrite(base + "img.png", scene.image)
        np.save(base + "kpts.npy", verts)
        cv2.imwrite(base + "seg.png", (a.mask * 255).astype(np.uint8))
        written.append({"prefix": base, "joints": verts[vids].astype(np.float32), "vertices": verts})
    perm = rng_for(seed, "synthetic", _animal_code(animal), 10 ** 6).permutation(num_images)
    n_valid = max(1, int(round(valid_fraction * num_images))) if num_images > 1 else 0
    np.save(os.path.join(folder, "valid_idxs.npy"), np.sort(perm[:n_valid]))
    np.save(os.path.join(folder, "train_idxs.npy"), np.sort(perm[n_valid:]))
    return written


# ---------------------------------------------------------------------------
# TigDog behaviorDiscovery2.0 videos
# ---------------------------------------------------------------------------
def _savemat(path: str, variables: dict) -> None:
    """``scipy.io.savemat`` with a fixed 116-byte header text (scipy stamps the
    creation time there), so that a seed always gives byte-identical files."""
    scipy.io.savemat(path, variables)
    header = b"MATLAB 5.0 MAT-file, Platform: posix, written by animalpose".ljust(116, b" ")
    with open(path, "r+b") as f:
        f.write(header)


def _landmark_cell(coords: np.ndarray, vis: np.ndarray) -> np.ndarray:
    """MATLAB cell array ``(F, 1)`` of 1x1 structs with a 19x2 coordinate field and a 19x1 visibility field."""
    cell = np.empty((len(coords), 1), dtype=object)
    for f in range(len(coords)):
        rec = np.empty((1, 1), dtype=[("coords", object), ("visible", object)])
        rec[0, 0]["coords"] = coords[f].astype(np.float64)
        rec[0, 0]["visible"] = vis[f].reshape(19, 1).astype(np.float64)
        cell[f, 0] = rec
    return cell


def _smooth_track(rng: np.random.Generator, n: int, amp: float, period=(40, 120)) -> np.ndarray:
    """Smooth 1-D trajectory of ``n`` samples: sum of two random sinusoids."""
    t = np.arange(n, dtype=np.float64)
    out = np.zeros(n)
    for _ in range(2):
        p = rng.uniform(*period)
        out += amp * 0.5 * np.sin(2 * np.pi * t / p + rng.uniform(0, 2 * np.pi))
    return out


def write_tigdog(root: str, animal: str, num_shots: int, frames_per_shot: int, seed: int = 0, size=(320, 240),
                 unlabelled_shots: int = 1, first_shot_id: int = 1) -> List[Dict]:
    """Render ``num_shots`` labelled video shots (plus ``unlabelled_shots`` without a
    landmarks file) of ``animal`` into ``root/behaviorDiscovery2.0``.

    Frames are ``<animal>/%08d.jpg`` numbered globally from 1; ``ranges.mat``
    rows are ``[shot_id, start, end]`` (end inclusive); ``landmarks/<animal>/<shot>.mat``
    holds per frame a 19x2 coordinate and 19x1 visibility field (row 19 = neck,
    coordinates 0-based pixels; joints outside the frame are 0,0 with vis 0).
    Tiger rows are written in TigDog's raw tiger order (knee/elbow blocks swapped).

    Returns per labelled frame ``{"path", "shot_id", "frame_id", "frame", "joints" (18, 3)}``
    with joints in the canonical (horse) order.
    """
    if animal not in TIGDOG_SPECIES:
        raise ValueError(f"no renderer species for TigDog animal {animal!r}; known: {', '.join(TIGDOG_SPECIES)}")
    sp = get_species(TIGDOG_SPECIES[animal])
    base = os.path.join(root, "behaviorDiscovery2.0")
    img_dir = os.path.join(base, animal)
    lm_dir = os.path.join(base, "landmarks", animal)
    rg_dir = os.path.join(base, "ranges", animal)
    for d in (img_dir, lm_dir, rg_dir):
        os.makedirs(d, exist_ok=True)
    w, h = size
    ranges, written = [], []
    frame = 1
    total = num_shots + unlabelled_shots
    for k in range(total):
        shot_id = first_shot_id + k
        labelled = k < num_shots
        rng = rng_for(seed, "tigdog", _animal_code(animal), shot_id)
        coat = make_coat(sp, rng, "real")
        pan = rng.uniform(0.15, 0.4) * w
        bg_full = background(rng, h, int(w + pan) + 2, "real")
        cam0 = random_camera(rng, sp, size, fill=(0.45, 0.8), rotation_sd=6.0)
        gait = str(rng.choice(["walk", "walk", "trot", "gallop", "stand"]))
        speed = {"walk": 0.035, "trot": 0.05, "gallop": 0.07, "stand": 0.0}[gait] * rng.uniform(0.8, 1.2)
        base_pose = random_pose(rng, gait=gait)
        n = frames_per_shot
        tx = _smooth_track(rng, n, 0.12 * w)
        ty = _smooth_track(rng, n, 0.05 * h)
        ds = 1.0 + _smooth_track(rng, n, 0.12)
        dr = _smooth_track(rng, n, 6.0)
        dneck = _smooth_track(rng, n, 0.35, (30, 80))
        dhead = _smooth_track(rng, n, 0.25, (30, 80))
        dtail = _smooth_track(rng, n, 0.4, (20, 60))
        # one light, camera and set of foreground occluders per shot (static in the world, so they
        # pan with the background); only the sensor noise is drawn per frame.  The occluders are
        # placed around the animal in its base pose, framed as in the shot's first frame.
        look = random_look(rng)
        first = pose_animal(sp, Pose(phase=base_pose.phase, gait=gait, pitch=base_pose.pitch, neck=base_pose.neck,
                                     head=base_pose.head, tail=base_pose.tail, leg_jitter=base_pose.leg_jitter),
                            cam0.scale * ds[0], cam0.rotation + dr[0], cam0.translation + np.array([tx[0], ty[0]]),
                            cam0.facing)
        occluders = occluder_layer(rng, h, w, animal_region(first))
        occ_texture = rng.uniform(0.6, 1.3, (h, bg_full.shape[1]))
        coords = np.zeros((n, 19, 2))
        vis = np.zeros((n, 19))
        for f in range(n):
            frng = rng_for(seed, "tigdog", _animal_code(animal), shot_id, f + 1)
            pose = Pose(phase=(base_pose.phase + speed * f) % 1.0, gait=gait, pitch=base_pose.pitch,
                        neck=base_pose.neck + dneck[f], head=base_pose.head + dhead[f],
                        tail=base_pose.tail + dtail[f], leg_jitter=base_pose.leg_jitter)
            cam = Camera(cam0.scale * ds[f], cam0.rotation + dr[f], cam0.translation + np.array([tx[f], ty[f]]),
                         cam0.facing)
            x_off = int(round(pan * f / max(1, n - 1)))
            bg = bg_full[:, x_off:x_off + w]
            scene = render_scene(frng, size, "real", [(sp, pose, cam, coat)], bg=bg, look=look,
                                 occluders=[p - np.array([x_off, 0.0]) for p in occluders],
                                 occluder_texture=occ_texture[:, x_off:x_off + w])
            a = scene.animals[0]
            joints = a.keypoints("tigdog18")
            neck = np.array([*a.points["neck"], float(a.visible["neck"])])
            rows = np.concatenate([joints, neck[None]], 0).astype(np.float64)
            inside = (rows[:, 0] >= 0) & (rows[:, 0] <= w - 1) & (rows[:, 1] >= 0) & (rows[:, 1] <= h - 1)
            rows[~inside] = 0.0
            joints = rows[:18].astype(np.float32)
            raw = rows.copy()
            if animal == "tiger":
                raw[:18] = rows[:18][list(TIGER_REMAP)]  # the remap is its own inverse
            coords[f], vis[f] = raw[:, :2], raw[:, 2]
            path = os.path.join(img_dir, f"{frame:08d}.jpg")
            _imwrite(path, scene.image, look.jpeg_quality)
            if labelled:
                written.append({"path": path, "shot_id": shot_id, "frame_id": f, "frame": frame, "joints": joints})
            frame += 1
        ranges.append([shot_id, frame - n, frame - 1])
        if labelled:
            _savemat(os.path.join(lm_dir, f"{shot_id}.mat"), {"landmarks": _landmark_cell(coords, vis)})
    _savemat(os.path.join(rg_dir, "ranges.mat"), {"ranges": np.asarray(ranges, np.int32)})
    return written


# ---------------------------------------------------------------------------
# Animal-Pose keypoints.json
# ---------------------------------------------------------------------------
AP_SPECIES = {"dog": "dog", "cat": "cat", "sheep": "sheep", "horse": "horse", "cow": "cow"}


def write_animalpose(root: str, num_images: int, seed: int = 0, size=(320, 240),
                     categories: Sequence[str] = ("dog", "cat", "sheep", "horse", "cow"),
                     multi_fraction: float = 0.2) -> List[Dict]:
    """Render a labelled multi-species set in the official Animal-Pose format:
    ``root/animalpose/keypoints.json`` + ``root/animalpose/images/*.jpg``.

    JSON: ``{"images": {str(id): file_name}, "annotations": [{"image_id", "bbox":
    [xmin, ymin, xmax, ymax], "keypoints": 20 x [x, y, v], "num_keypoints": 20,
    "category_id"}], "categories": [...]}``; unlabelled joints are ``[0, 0, 0]``.
    Returns the written annotations with ``keypoints`` as ``(20, 3)`` arrays.
    """
    name_to_id = {v: k for k, v in ANIMALPOSE_CATEGORIES.items()}
    for c in categories:
        if c not in name_to_id:
            raise ValueError(f"unknown Animal-Pose category {c!r}; known: {', '.join(name_to_id)}")
    folder = os.path.join(root, "animalpose")
    img_dir = os.path.join(folder, "images")
    os.makedirs(img_dir, exist_ok=True)
    w, h = size
    images, annotations, written = {}, [], []
    for i in range(num_images):
        rng = rng_for(seed, "animalpose", i)
        cat = categories[i % len(categories)]
        sp = get_species(AP_SPECIES[cat])
        n_animals = 2 if rng.random() < multi_fraction else 1
        animals = []
        for k in range(n_animals):
            fill = (0.4, 0.8) if n_animals == 1 else (0.3, 0.5)
            cam = random_camera(rng, sp, size, fill=fill, rotation_sd=8.0)
            animals.append((sp, random_pose(rng), cam, None))
        scene = render_scene(rng, size, "real", animals)
        image_id = i + 1
        file_name = f"ap_{image_id:06d}.jpg"
        _imwrite(os.path.join(img_dir, file_name), scene.image, int(rng.integers(60, 92)))
        images[str(image_id)] = file_name
        for a in scene.animals:
            box = a.bbox()
            if box is None:
                continue
            kp = a.keypoints("animalpose20")
            kp[kp[:, 2] == 0] = 0.0
            kp = np.round(kp, 2).astype(np.float32)
            if (kp[:, 2] > 0).sum() == 0:
                continue
            ann = {"image_id": image_id, "bbox": [float(v) for v in box],
                   "keypoints": [[float(x), float(y), int(v)] for x, y, v in kp],
                   "num_keypoints": 20, "category_id": name_to_id[cat]}
            annotations.append(ann)
            written.append({**ann, "keypoints": kp, "file_name": file_name})
    doc = {"images": images, "annotations": annotations,
           "categories": [{"id": k, "name": v, "supercategory": "animal",
                           "keypoints": list(get_spec("animalpose20").joints)}
                          for k, v in ANIMALPOSE_CATEGORIES.items()]}
    with open(os.path.join(folder, "keypoints.json"), "w") as f:
        json.dump(doc, f)
    return written


__all__ = ["write_synthetic_animal", "write_tigdog", "write_animalpose", "rng_for", "NUM_LAYERS"]


# ---------------------------------------------------------------------------
# AP-10K-style COCO files
# ---------------------------------------------------------------------------
#: joint names as AP-10K's files spell them (spec ap10k17 order)
AP10K_FILE_JOINTS = ("left_eye", "right_eye", "nose", "neck", "root_of_tail", "left_shoulder", "left_elbow",
                     "left_front_paw", "right_shoulder", "right_elbow", "right_front_paw", "left_hip", "left_knee",
                     "left_back_paw", "right_hip", "right_knee", "right_back_paw")
#: rendered species -> (category id, family) in the written file
AP10K_SPECIES = {"dog": (1, "Canidae"), "cat": (2, "Felidae"), "horse": (3, "Equidae"), "sheep": (4, "Bovidae"),
                 "cow": (5, "Bovidae"), "tiger": (6, "Felidae")}


def write_ap10k(root: str, images_per_split: Dict[str, int], seed: int = 0, size=(320, 240)) -> Dict[str, List[Dict]]:
    """Render an AP-10K-style set: ``root/ap10k/annotations/ap10k-<split>-split1.json`` and
    ``root/ap10k/data/*.jpg``.

    COCO-style: ``images`` a list (``id, file_name, width, height``), annotations with
    ``bbox`` ``x, y, w, h`` of the visible silhouette, ``keypoints`` 17 x ``[x, y, v]`` (v 2
    visible, 0 not labelled), ``num_keypoints``, ``area``, ``iscrowd`` 0; one category per
    species (family as supercategory) naming the joints :data:`AP10K_FILE_JOINTS` with a
    1-based skeleton.  Returns, per split, the written annotations (``keypoints`` ``(17, 3)``).
    """
    spec = get_spec("ap10k17")
    folder = os.path.join(root, "ap10k")
    os.makedirs(os.path.join(folder, "annotations"), exist_ok=True)
    os.makedirs(os.path.join(folder, "data"), exist_ok=True)
    species = list(AP10K_SPECIES)
    skeleton = [[a + 1, b + 1] for a, b in spec.skeleton]
    cats = [{"id": cid, "name": name, "supercategory": fam, "keypoints": list(AP10K_FILE_JOINTS),
             "skeleton": skeleton} for name, (cid, fam) in AP10K_SPECIES.items()]
    written: Dict[str, List[Dict]] = {}
    image_id, ann_id = 0, 0
    for s_index, (split, n) in enumerate(images_per_split.items()):
        images, anns, out = [], [], []
        for i in range(n):
            rng = rng_for(seed, "ap10k", s_index, i)
            name = species[(i + s_index) % len(species)]
            sp = get_species(name)
            cam = random_camera(rng, sp, size, fill=(0.4, 0.8), rotation_sd=8.0)
            scene = render_scene(rng, size, "real", [(sp, random_pose(rng), cam, None)])
            image_id += 1
            file_name = f"{image_id:012d}.jpg"
            _imwrite(os.path.join(folder, "data", file_name), scene.image, int(rng.integers(70, 95)))
            images.append({"id": image_id, "file_name": file_name, "width": size[0], "height": size[1]})
            for a in scene.animals:
                box = a.bbox()
                kp = a.keypoints("ap10k17")
                if box is None or (kp[:, 2] > 0).sum() == 0:
                    continue
                kp[kp[:, 2] == 0] = 0.0
                kp[kp[:, 2] > 0, 2] = 2.0
                kp = np.round(kp, 2).astype(np.float32)
                x1, y1, x2, y2 = (float(v) for v in box)
                ann_id += 1
                ann = {"id": ann_id, "image_id": image_id, "category_id": AP10K_SPECIES[name][0],
                       "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1), "iscrowd": 0,
                       "num_keypoints": int((kp[:, 2] > 0).sum()),
                       "keypoints": [float(v) if k % 3 < 2 else int(v) for k, v in enumerate(kp.reshape(-1))]}
                anns.append(ann)
                out.append({**ann, "keypoints": kp, "species": name})
        doc = {"info": {"description": "AP-10K-style file rendered by animalpose"}, "images": images,
               "annotations": anns, "categories": cats}
        with open(os.path.join(folder, "annotations", f"ap10k-{split}-split1.json"), "w") as f:
            json.dump(doc, f)
        written[split] = out
    return written


# ---------------------------------------------------------------------------
# DeepLabCut project
# ---------------------------------------------------------------------------
#: body part -> rig point of the rendered DeepLabCut project
DLC_BODYPARTS = {"snout": "nose", "leftear": "l_earbase", "rightear": "r_earbase", "withers": "withers",
                 "tailbase": "hip", "leftfrontpaw": "l_front_hoof", "rightfrontpaw": "r_front_hoof",
                 "leftbackpaw": "l_back_hoof", "rightbackpaw": "r_back_hoof"}


def write_dlc_project(root: str, videos: int, frames_per_video: int, seed: int = 0, size=(320, 240),
                      species: str = "dog", scorer: str = "Renderer") -> Dict[str, List[Dict]]:
    """Render a single-animal DeepLabCut project into ``root/dlc/demo-Renderer-2026-01-01``.

    ``config.yaml`` (``Task``, ``scorer``, ``bodyparts`` = :data:`DLC_BODYPARTS`,
    ``multianimalproject: false``, ``TrainingFraction: [0.8]``, ``video_sets``),
    ``labeled-data/video<k>/img<NNNN>.png`` frames and ``CollectedData_<scorer>.csv`` labels:
    even videos use the one-column row index (``labeled-data/video0/img0000.png``), odd ones
    the three-column index (``labeled-data``, ``video1``, ``img0000.png``); joints hidden in
    the frame are empty cells.  Returns the written ``(K, 3)`` keypoints per video (v 2 / 0).
    """
    import yaml

    project = os.path.join(root, "dlc", "demo-Renderer-2026-01-01")
    parts = list(DLC_BODYPARTS)
    cfg = {"Task": "demo", "scorer": scorer, "date": "Jan1", "multianimalproject": False,
           "project_path": project, "video_sets": {}, "bodyparts": parts, "start": 0, "stop": 1,
           "numframes2pick": frames_per_video, "skeleton": [["snout", "withers"], ["withers", "tailbase"]],
           "TrainingFraction": [0.8], "iteration": 0, "default_net_type": "resnet_50"}
    written: Dict[str, List[Dict]] = {}
    sp = get_species(species)
    for v in range(videos):
        video = f"video{v}"
        cfg["video_sets"][f"videos/{video}.mp4"] = {"crop": f"0, {size[0]}, 0, {size[1]}"}
        vdir = os.path.join(project, "labeled-data", video)
        os.makedirs(vdir, exist_ok=True)
        three = v % 2 == 1
        n_index = 3 if three else 1
        rows = [["scorer"] + [""] * (n_index - 1) + [scorer] * (2 * len(parts)),
                ["bodyparts"] + [""] * (n_index - 1) + [p for p in parts for _ in "xy"],
                ["coords"] + [""] * (n_index - 1) + ["x", "y"] * len(parts)]
        out = []
        for f in range(frames_per_video):
            rng = rng_for(seed, "dlc", v, f)
            cam = random_camera(rng, sp, size, fill=(0.45, 0.8), rotation_sd=5.0)
            scene = render_scene(rng, size, "real", [(sp, random_pose(rng), cam, None)])
            name = f"img{f:04d}.png"
            _imwrite(os.path.join(vdir, name), scene.image)
            a = scene.animals[0]
            kp = np.zeros((len(parts), 3), np.float32)
            cells = []
            for k, p in enumerate(parts):
                x, y = (float(c) for c in a.points[DLC_BODYPARTS[p]])
                if a.visible[DLC_BODYPARTS[p]] and 0 <= x < size[0] and 0 <= y < size[1]:
                    kp[k] = [round(x, 2), round(y, 2), 2]
                    cells += [f"{kp[k, 0]:.2f}", f"{kp[k, 1]:.2f}"]
                else:
                    cells += ["", ""]
            index = ["labeled-data", video, name] if three else [f"labeled-data/{video}/{name}"]
            rows.append(index + cells)
            out.append({"image": os.path.join(vdir, name), "keypoints": kp})
        with open(os.path.join(vdir, f"CollectedData_{scorer}.csv"), "w", newline="") as fh:
            import csv
            csv.writer(fh).writerows(rows)
        written[video] = out
    with open(os.path.join(project, "config.yaml"), "w") as fh:
        yaml.safe_dump(cfg, fh, sort_keys=False)
    return written


__all__ += ["write_ap10k", "write_dlc_project", "AP10K_FILE_JOINTS", "DLC_BODYPARTS"]
