"""DeepLabCut projects (``dataset: dlc``, ``root`` = the project folder).

Layout::

    <project>/config.yaml                 Task, scorer, bodyparts (single animal), or
                                          multianimalproject: true with individuals,
                                          multianimalbodyparts, uniquebodyparts; TrainingFraction
    <project>/labeled-data/<video>/CollectedData_<scorer>.csv   (the labels)
    <project>/labeled-data/<video>/img0000.png ...              (the frames)

CSV header rows: ``scorer`` / (multi-animal: ``individuals``) / ``bodyparts``
/ ``coords`` (``x, y`` per body part).  The row index is one column holding
the relative image path (older projects, ``labeled-data/m4s1/img0000.png``) or
three columns (``labeled-data``, ``<video>``, ``img0000.png``); the number of
index columns is where the first ``x`` of the ``coords`` row sits.  An empty
cell (or ``NaN``) is a joint that was not labelled: ``v = 0``; a labelled
joint gets ``v = 2`` (DeepLabCut has no visibility flag).  Only the CSV is
read (pandas' ``.h5`` needs PyTables); a folder with only the ``.h5`` is
refused with a line saying to export the CSV (DeepLabCut writes both).

Rules:

* **Spec**: the body parts, in config order (name ``dlc_<task><K>_<hash>``;
  flip partners inferred from left/right names, or ``flip_pairs``), or the
  given ``spec``, matched by name.  The CSV must hold exactly the config's
  body parts.  ``uniquebodyparts`` of multi-animal projects (the ``single``
  individual) are not read.
* **Instances**: one per labelled frame (and individual) with at least one
  labelled joint.  Box = the labelled joints' extent plus ``margin`` pixels
  (default 20) on each side, clipped to the image.
* **Split** (``split``: ``all`` | ``train`` | ``test``): ``split_by: video``
  (default) puts the ``test_videos`` (or, when none are named, a seeded
  ``test_fraction`` of the videos, at least one) into ``test``;
  ``split_by: frame`` draws a seeded ``test_fraction`` of the frames, as
  DeepLabCut's own shuffles do.  ``test_fraction`` defaults to ``1 -
  TrainingFraction[0]`` of the config (0.2 without one).  The seed is
  ``split_seed`` (0).
"""
from __future__ import annotations

import csv
import glob
import hashlib
import json
import math
import os
import re
from typing import Dict, List, Optional, Sequence

import numpy as np

from animalpose.keypoints import get_spec, match_joints, register_spec, spec_from_dict

from .errors import DatasetFormatError
from .sample import PoseSample, box_center_scale, image_size

SPLITS = ("all", "train", "test")
SPLIT_BY = ("video", "frame")


def read_config(project: str) -> Dict:
    """``config.yaml`` of a project as a dict (checked for the body-part keys)."""
    import yaml

    path = os.path.join(project, "config.yaml")
    if not os.path.isfile(path):
        raise DatasetFormatError(path, "DeepLabCut config.yaml not found (root must be the project folder)")
    try:
        with open(path, "r", encoding="utf-8") as f:
            cfg = yaml.safe_load(f)
    except yaml.YAMLError as e:
        raise DatasetFormatError(path, f"not valid YAML ({str(e).splitlines()[0]})") from None
    if not isinstance(cfg, dict):
        raise DatasetFormatError(path, "expected a mapping")
    multi = bool(cfg.get("multianimalproject", False))
    key = "multianimalbodyparts" if multi else "bodyparts"
    parts = cfg.get(key)
    if not isinstance(parts, list) or not parts or not all(isinstance(p, str) for p in parts):
        raise DatasetFormatError(path, f"'{key}' must be a non-empty list of body part names")
    if multi:
        inds = cfg.get("individuals")
        if not isinstance(inds, list) or not inds:
            raise DatasetFormatError(path, "multi-animal project without an 'individuals' list")
    return cfg


def _cell(value: str, where: str) -> float:
    v = value.strip()
    if v == "" or v.lower() == "nan":
        return float("nan")
    try:
        x = float(v)
    except ValueError:
        raise DatasetFormatError(where, f"{value!r} is not a number") from None
    if math.isinf(x):
        raise DatasetFormatError(where, f"{value!r} is not a finite coordinate (empty or NaN cells mean "
                                        "'not labelled')")
    return x


def read_labels(path: str, bodyparts: Sequence[str], individuals: Optional[Sequence[str]] = None):
    """Parse ``CollectedData_<scorer>.csv``.

    Returns ``(image paths (relative, '/'-separated), keypoints (F, I, K, 2)``
    float64 with NaN for unlabelled joints, ``individuals``)``; ``I = 1`` for a
    single-animal project.  ``bodyparts`` (config order) fixes ``K``.
    """
    with open(path, "r", encoding="utf-8", newline="") as f:
        rows = [r for r in csv.reader(f)]
    head = {}
    for n, r in enumerate(rows[:4]):
        if r and r[0] in ("scorer", "individuals", "bodyparts", "coords"):
            head[r[0]] = n
    for key in ("scorer", "bodyparts", "coords"):
        if key not in head:
            raise DatasetFormatError(path, f"no '{key}' header row (a DeepLabCut CSV starts with scorer"
                                           f"{', individuals' if individuals else ''}, bodyparts, coords rows)")
    multi = individuals is not None
    if multi and "individuals" not in head:
        raise DatasetFormatError(path, "multi-animal project but the CSV has no 'individuals' header row")
    coords = rows[head["coords"]]
    try:
        n_index = coords.index("x")
    except ValueError:
        raise DatasetFormatError(path, "the 'coords' row has no 'x' column") from None
    if n_index not in (1, 3):
        raise DatasetFormatError(path, f"{n_index} index columns; expected 1 (image path) or 3 "
                                       "(labeled-data, video, image)")
    bp_row = rows[head["bodyparts"]]
    ind_row = rows[head["individuals"]] if multi else None
    first_data = max(head.values()) + 1
    k_of = {p: k for k, p in enumerate(bodyparts)}
    inds = list(individuals) if multi else ["_"]
    i_of = {ind: i for i, ind in enumerate(inds)}
    columns = {}                       # column -> (individual, joint, coord)
    seen_parts = set()
    for c in range(n_index, len(coords)):
        coord = coords[c].strip()
        if coord not in ("x", "y", "likelihood"):
            raise DatasetFormatError(path, f"column {c + 1}: coords {coords[c]!r} is not x / y")
        if coord == "likelihood":
            continue
        part = bp_row[c].strip() if c < len(bp_row) else ""
        ind = ind_row[c].strip() if multi and c < len(ind_row) else "_"
        if multi and ind == "single":
            continue                    # uniquebodyparts: not read (module docstring)
        if part not in k_of:
            raise DatasetFormatError(path, f"body part {part!r} (column {c + 1}) is not in config.yaml's "
                                           f"bodyparts ({', '.join(bodyparts)})")
        if ind not in i_of:
            raise DatasetFormatError(path, f"individual {ind!r} (column {c + 1}) is not in config.yaml's "
                                           f"individuals ({', '.join(inds)})")
        key = (i_of[ind], k_of[part], 0 if coord == "x" else 1)
        if key in columns.values():
            raise DatasetFormatError(path, f"column {c + 1}: {part} {coord} appears twice")
        columns[c] = key
        seen_parts.add(part)
    missing = [p for p in bodyparts if p not in seen_parts]
    if missing:
        raise DatasetFormatError(path, f"no columns for body part {missing[0]!r} of config.yaml")
    images, values = [], []
    for n, r in enumerate(rows[first_data:], start=first_data + 1):
        if not any(v.strip() for v in r):
            continue
        if len(r) < len(coords):
            raise DatasetFormatError(path, f"row {n} has {len(r)} cells, the header {len(coords)}")
        rel = "/".join(p.strip().replace("\\", "/") for p in r[:n_index] if p.strip())
        kp = np.full((len(inds), len(bodyparts), 2), np.nan)
        for c, (i, k, d) in columns.items():
            kp[i, k, d] = _cell(r[c], f"{path} row {n} column {c + 1}")
        images.append(rel)
        values.append(kp)
    arr = np.stack(values) if values else np.zeros((0, len(inds), len(bodyparts), 2))
    return images, arr, inds


class DLCProject:
    """Labelled frames of a DeepLabCut project as :class:`PoseSample` (see the module docstring).

    Args:
        root: the project folder (``config.yaml``, ``labeled-data/``).
        split: ``all`` | ``train`` | ``test``.
        spec: read the body parts by name into this spec; ``None``: the project's own.
        flip_pairs: pairs of body-part names (the project's own spec only).
        test_videos, split_by, test_fraction, split_seed: the split.
        margin: box margin in pixels around the labelled joints.
        aspect_ratio, padding: crop box convention.
    """

    benchmark = "pck"

    def __init__(self, root: str, split: str = "all", spec=None, flip_pairs=None, test_videos: Sequence[str] = (),
                 split_by: str = "video", test_fraction: Optional[float] = None, split_seed: int = 0,
                 margin: float = 20.0, aspect_ratio: float = 1.0, padding: float = 1.25):
        if split not in SPLITS:
            raise ValueError(f"dlc split must be one of {', '.join(SPLITS)}, got {split!r}")
        if split_by not in SPLIT_BY:
            raise ValueError(f"dlc split_by must be one of {', '.join(SPLIT_BY)}, got {split_by!r}")
        self.root = os.path.abspath(str(root))
        self.config = read_config(self.root)
        self.multi = bool(self.config.get("multianimalproject", False))
        self.bodyparts = list(self.config["multianimalbodyparts" if self.multi else "bodyparts"])
        self.individuals = list(self.config["individuals"]) if self.multi else None
        self.margin, self.aspect_ratio, self.padding = float(margin), float(aspect_ratio), float(padding)
        where = os.path.join(self.root, "config.yaml")
        if spec is not None:
            self.spec_def = get_spec(spec)
            self.order = match_joints(self.bodyparts, self.spec_def, where=where)
        else:
            self.spec_def = self._own_spec(flip_pairs, where)
            self.order = np.arange(len(self.bodyparts))
        self.spec = self.spec_def.name
        frames = self._read_frames()
        self.videos = sorted({f["video"] for f in frames})
        if test_fraction is None:
            tf = self.config.get("TrainingFraction")
            if tf is not None and not (isinstance(tf, list) and tf and isinstance(tf[0], (int, float))
                                       and not isinstance(tf[0], bool) and 0.0 < tf[0] <= 1.0):
                raise DatasetFormatError(os.path.join(self.root, "config.yaml"),
                                         f"TrainingFraction must be a list of fractions in (0, 1], got {tf!r}")
            test_fraction = 1.0 - float(tf[0]) if tf else 0.2
        if not 0.0 <= float(test_fraction) < 1.0:
            raise ValueError(f"dlc test_fraction must be in [0, 1), got {test_fraction}")
        self.test_videos, test_frames = self._split(frames, list(test_videos), split_by, float(test_fraction),
                                                    int(split_seed))
        self.items = [f for f in frames
                      if split == "all" or ((f["key"] in test_frames) == (split == "test"))]
        if split == "test" and not test_frames:
            raise ValueError(f"{self.root}: the test split is empty ({len(self.videos)} labelled video(s), no "
                             "test_videos, test_fraction " f"{test_fraction:g}); name test_videos or use "
                             "split_by: frame")

    def _own_spec(self, flip_pairs, where):
        task = str(self.config.get("Task") or os.path.basename(self.root))
        data = {"name": "pending", "joints": self.bodyparts, "source": where}
        if flip_pairs is not None:
            data["flip_pairs"] = [list(p) for p in flip_pairs]
        spec = spec_from_dict(data, where=where)
        digest = hashlib.sha1(json.dumps({**spec.to_dict(), "name": "", "source": ""},
                                         sort_keys=True).encode()).hexdigest()[:6]
        slug = re.sub(r"[^0-9a-z]+", "_", task.lower()).strip("_") or "project"
        from dataclasses import replace
        return register_spec(replace(spec, name=f"dlc_{slug}{len(self.bodyparts)}_{digest}"))

    def _read_frames(self) -> List[Dict]:
        base = os.path.join(self.root, "labeled-data")
        if not os.path.isdir(base):
            raise DatasetFormatError(base, "labeled-data folder not found")
        scorer = self.config.get("scorer")
        frames: List[Dict] = []
        for vdir in sorted(d for d in glob.glob(os.path.join(base, "*")) if os.path.isdir(d)):
            video = os.path.basename(vdir)
            csvs = sorted(glob.glob(os.path.join(vdir, "CollectedData_*.csv")))
            if scorer and os.path.isfile(os.path.join(vdir, f"CollectedData_{scorer}.csv")):
                csvs = [os.path.join(vdir, f"CollectedData_{scorer}.csv")]
            if not csvs:
                if glob.glob(os.path.join(vdir, "CollectedData_*.h5")):
                    raise DatasetFormatError(vdir, "labels only as .h5; export the CSV (DeepLabCut's "
                                                   "`deeplabcut.convertcsv2h5` counterpart, or re-save the labels)")
                continue                       # a video folder without labels (frames extracted only)
            if len(csvs) > 1:
                raise DatasetFormatError(vdir, f"several label files ({', '.join(map(os.path.basename, csvs))}); "
                                               "set scorer in config.yaml")
            paths, kp, inds = read_labels(csvs[0], self.bodyparts, self.individuals)
            for f, rel in enumerate(paths):
                image_path = os.path.join(self.root, *rel.split("/"))
                if len(rel.split("/")) == 1:             # a bare file name: the frame is beside the CSV
                    image_path = os.path.join(vdir, rel)
                if not os.path.isfile(image_path):
                    raise DatasetFormatError(csvs[0], f"row for {rel}: image {image_path} not found")
                w, h = image_size(image_path)
                digits = re.findall(r"\d+", os.path.basename(rel))
                for i, ind in enumerate(inds):
                    xy = kp[f, i]
                    lab = ~np.isnan(xy).any(-1)
                    if not lab.any():
                        continue
                    k3 = np.zeros((len(self.bodyparts), 3), np.float32)
                    k3[lab, :2] = xy[lab]
                    k3[lab, 2] = 2.0
                    lo = xy[lab].min(0) - self.margin
                    hi = xy[lab].max(0) + self.margin
                    box = np.array([max(lo[0], 0.0), max(lo[1], 0.0), min(hi[0], w - 1.0), min(hi[1], h - 1.0)],
                                   np.float32)
                    frames.append({"key": rel, "video": video, "image_path": image_path, "rel": rel,
                                   "keypoints": k3[self.order], "bbox": box, "individual": None if ind == "_" else ind,
                                   "frame_id": int(digits[-1]) if digits else f, "csv": csvs[0]})
        if not frames:
            raise DatasetFormatError(base, "no labelled frames (labeled-data/<video>/CollectedData_<scorer>.csv)")
        return frames

    def _split(self, frames, test_videos, split_by, fraction, seed):
        rng = np.random.default_rng(seed)
        if split_by == "frame":
            keys = sorted({f["key"] for f in frames})
            n = int(round(fraction * len(keys)))
            return [], set(np.array(keys)[rng.permutation(len(keys))[:n]].tolist()) if n else set()
        if test_videos:
            unknown = [v for v in test_videos if v not in self.videos]
            if unknown:
                raise ValueError(f"{self.root}: test video {unknown[0]!r} is not in labeled-data "
                                 f"({', '.join(self.videos)})")
            chosen = list(test_videos)
        elif fraction > 0 and len(self.videos) > 1:
            n = max(1, int(round(fraction * len(self.videos))))
            chosen = sorted(np.array(self.videos)[rng.permutation(len(self.videos))[:n]].tolist())
        else:
            chosen = []
        return chosen, {f["key"] for f in frames if f["video"] in chosen}

    def __len__(self) -> int:
        return len(self.items)

    def annotation(self, i: int) -> PoseSample:
        it = self.items[i]
        c, s = box_center_scale(it["bbox"], self.aspect_ratio, self.padding)
        return PoseSample(image_path=it["image_path"], keypoints=it["keypoints"].copy(), bbox=it["bbox"].copy(),
                          center=c, scale=s, spec=self.spec, image_id=it["rel"], instance_id=i,
                          video_id=it["video"], frame_id=it["frame_id"],
                          extra={"individual": it["individual"]} if it["individual"] else {})

    def __getitem__(self, i: int) -> PoseSample:
        return self.annotation(i).with_image()
