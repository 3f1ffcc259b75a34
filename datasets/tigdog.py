"""TigDog ``behaviorDiscovery2.0`` (horse and tiger videos with 19 landmarks).

Layout under ``root/behaviorDiscovery2.0``:

* ``<animal>/%08d.jpg`` - frames, numbered globally within the animal folder;
* ``ranges/<animal>/ranges.mat`` - variable ``ranges``: rows ``[shot_id, start, end]``
  (end frame inclusive);
* ``landmarks/<animal>/<shot_id>.mat`` - variable ``landmarks``: one cell per frame
  offset ``frame - start``; ``landmarks[f][0][0][0][0]`` is the ``19 x 2``
  coordinate block, ``[1]`` the ``19 x 1`` visibility; rows ``0..17`` are the
  joints (row 18, "neck", is dropped).  Shots without a landmarks file are skipped.

Frames are kept when more than 9 of the 18 joints are visible.  The list of
all labelled frames in ``ranges`` order (before that filter) is what the
official split files ``train_idxs_by_video.npy`` / ``valid_idxs_by_video.npy``
index.  Tiger annotations are remapped to the horse order
(:data:`animalpose.keypoints.TIGER_REMAP`).

Crop protocols (``crop=``):

* ``"ccssl"`` - box over the annotated points (x range over x > 0, y range over
  y > 0), crop side ``1.5 * max(w, h)`` (CC-SSL / LFSA);
* ``"uda"`` - the same box grown by 15 px and clipped to the frame, side
  ``1.25 * max(w, h)`` (UDA-Animal-Pose).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import List, Optional

import numpy as np
import scipy.io

from animalpose.keypoints import TIGER_REMAP

from .errors import DatasetFormatError, read_index_file
from .sample import PoseSample, image_size, square_crop

CROP_PROTOCOLS = {"ccssl": (1.5, 0.0), "uda": (1.25, 15.0)}
SPLITS = ("train", "test", "all")
MIN_VISIBLE = 10  # keep a frame when more than 9 of the 18 joints are visible


@dataclass
class _Frame:
    path: str
    shot_id: int
    frame_id: int
    frame: int
    joints: np.ndarray  # (18, 3)


def _loadmat(path: str, var: str):
    try:
        data = scipy.io.loadmat(path)
    except FileNotFoundError:
        raise DatasetFormatError(path, "file not found") from None
    except Exception as e:  # noqa: BLE001 - scipy raises several types for corrupt files
        raise DatasetFormatError(path, f"not a readable MATLAB file ({e.__class__.__name__})") from None
    if var not in data:
        raise DatasetFormatError(path, f"has no variable {var!r}")
    return data[var]


def _frame_landmarks(landmarks, f: int, path: str) -> np.ndarray:
    """``(19, 3)`` x, y, vis of frame offset ``f`` in a landmarks cell array."""
    try:
        rec = landmarks[f][0][0][0]
        coords = np.asarray(rec[0], np.float64)
        vis = np.asarray(rec[1], np.float64).reshape(-1, 1)
    except (IndexError, TypeError, ValueError, KeyError):
        raise DatasetFormatError(path, f"landmarks entry for frame offset {f} is missing or malformed") from None
    if coords.ndim != 2 or coords.shape[1] != 2 or coords.shape[0] < 18 or vis.shape[0] != coords.shape[0]:
        raise DatasetFormatError(path, f"frame offset {f}: expected 19x2 coordinates and 19x1 visibility, "
                                       f"got {coords.shape} and {vis.shape}")
    if not (np.isfinite(coords).all() and np.isfinite(vis).all()):
        raise DatasetFormatError(path, f"frame offset {f}: landmarks hold NaN or infinite values")
    return np.hstack([coords, vis])


def _dataset_dir(root: str) -> str:
    if os.path.basename(os.path.normpath(root)) == "behaviorDiscovery2.0":
        return root
    return os.path.join(root, "behaviorDiscovery2.0")


def load_frames(root: str, animal: str, remap_tiger: bool = True) -> List[_Frame]:
    """All labelled frames of ``animal`` in ``ranges`` order (unfiltered)."""
    base = _dataset_dir(root)
    ranges_path = os.path.join(base, "ranges", animal, "ranges.mat")
    ranges = np.asarray(_loadmat(ranges_path, "ranges"))
    if ranges.ndim != 2 or ranges.shape[1] != 3:
        raise DatasetFormatError(ranges_path, f"'ranges' must be an N x 3 array [shot_id, start, end], got {ranges.shape}")
    frames: List[_Frame] = []
    for shot_id, start, end in ranges.astype(np.int64):
        lm_path = os.path.join(base, "landmarks", animal, f"{shot_id}.mat")
        if not os.path.isfile(lm_path):
            continue
        landmarks = _loadmat(lm_path, "landmarks")
        n = end - start + 1
        if len(landmarks) < n:
            raise DatasetFormatError(lm_path, f"has {len(landmarks)} frames but ranges.mat gives {n} "
                                              f"(frames {start}-{end})")
        for frame in range(start, end + 1):
            lm = _frame_landmarks(landmarks, frame - start, lm_path)[:18].astype(np.float32)
            if animal == "tiger" and remap_tiger:
                lm = lm[list(TIGER_REMAP)]
            frames.append(_Frame(os.path.join(base, animal, f"{frame:08d}.jpg"), int(shot_id),
                                 int(frame - start), int(frame), lm))
    return frames


def video_split(shot_ids, test_fraction: float = 0.2, seed: int = 0):
    """Deterministic split by video: ``(train_shots, test_shots)`` as sorted lists."""
    shots = np.array(sorted(set(int(s) for s in shot_ids)))
    if len(shots) < 2:
        return shots.tolist(), []
    n_test = min(len(shots) - 1, max(1, int(round(test_fraction * len(shots)))))
    perm = np.random.default_rng(seed).permutation(len(shots))
    test = np.sort(shots[perm[:n_test]])
    train = np.sort(shots[perm[n_test:]])
    return train.tolist(), test.tolist()


class TigDog:
    """TigDog frames of one animal as :class:`PoseSample` (spec ``tigdog18``).

    Args:
        root: folder that holds ``behaviorDiscovery2.0/`` (or that folder itself).
        animal: ``horse`` or ``tiger``.
        split: ``train`` / ``test`` (by video) or ``all``.
        crop: ``ccssl`` or ``uda`` (see module docstring).
        split_dir: folder with the official ``train_idxs_by_video.npy`` /
            ``valid_idxs_by_video.npy`` (a missing file is an error); when None the
            split is by video with ``test_fraction`` of the shots chosen by
            ``split_seed``.  ``split_source`` says which was used.
        min_visible: keep a frame when at least this many joints are visible (10 = "more than 9").
    """

    spec = "tigdog18"
    benchmark = "pck"

    def __init__(self, root: str, animal: str = "horse", split: str = "train", crop: str = "ccssl",
                 split_dir: Optional[str] = None, test_fraction: float = 0.2, split_seed: int = 0,
                 min_visible: int = MIN_VISIBLE, remap_tiger: bool = True):
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        if crop not in CROP_PROTOCOLS:
            raise ValueError(f"crop must be one of {tuple(CROP_PROTOCOLS)}, got {crop!r}")
        self.root, self.animal, self.split, self.crop = root, animal, split, crop
        frames = load_frames(root, animal, remap_tiger)
        if split == "all":
            chosen = frames
            self.split_source = "all labelled frames"
        elif split_dir is not None:
            name = "train_idxs_by_video.npy" if split == "train" else "valid_idxs_by_video.npy"
            path = os.path.join(split_dir, name)
            if not os.path.isfile(path):
                raise DatasetFormatError(path, "TigDog split file not found (the official split ships in the CC-SSL "
                                               "release's data/real_animal/<animal>/; or set split_dir: null for the "
                                               "seeded split by video)")
            idx = read_index_file(path, "TigDog split file")
            if idx.size and (idx.min() < 0 or idx.max() >= len(frames)):
                raise DatasetFormatError(path, f"indices out of range for {len(frames)} labelled frames")
            chosen = [frames[i] for i in idx]
            self.split_source = os.path.abspath(path)
        else:
            train, test = video_split([f.shot_id for f in frames], test_fraction, split_seed)
            keep = set(train if split == "train" else test)
            chosen = [f for f in frames if f.shot_id in keep]
            self.split_source = f"seeded split by video ({test_fraction:g} of the shots, seed {split_seed})"
        self.frames = [f for f in chosen if (f.joints[:, 2] > 0).sum() >= min_visible]
        self.shot_ids = sorted({f.shot_id for f in self.frames})

    def __len__(self) -> int:
        return len(self.frames)

    def annotation(self, i: int) -> PoseSample:
        fr = self.frames[i]
        kp = fr.joints.copy()
        xs, ys = kp[kp[:, 0] > 0, 0], kp[kp[:, 1] > 0, 1]
        if len(xs) == 0 or len(ys) == 0:
            raise DatasetFormatError(fr.path, "frame has no annotated point to build a crop box")
        bbox = np.array([xs.min(), ys.min(), xs.max(), ys.max()], np.float32)
        factor, margin = CROP_PROTOCOLS[self.crop]
        size = image_size(fr.path) if margin else None
        c, s = square_crop(bbox, factor, margin, size)
        return PoseSample(image_path=fr.path, keypoints=kp, bbox=bbox, center=c, scale=s, spec=self.spec,
                          image_id=fr.frame, instance_id=fr.frame, video_id=fr.shot_id, frame_id=fr.frame_id,
                          category=self.animal, extra={"frame": fr.frame})

    def __getitem__(self, i: int) -> PoseSample:
        return self.annotation(i).with_image()
