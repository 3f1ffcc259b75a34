"""Data flow of top-down training: loader -> augmentation -> codec.encode -> tensors.

:func:`build_source` turns a :class:`DataConfig` into a real-format loader;
:class:`TopDownDataset` wraps it for PyTorch.  Randomness of a sample depends
only on ``(seed, epoch, index)``, so results do not change with the number of
workers and an interrupted run resumes exactly.
"""
from __future__ import annotations

import os
from typing import Any, Dict, Optional

import numpy as np
import torch
from torch.utils.data import Dataset

from ..keypoints import get_mapping, get_spec
from ..transforms import Normalize, TopDownAugment
from ..transforms.augment import with_overrides
from .config import AugmentConfig, DataConfig, NormalizeConfig


class _Limited:
    """The first ``n`` instances of a loader."""

    def __init__(self, source, n: int):
        self.source, self.n = source, min(n, len(source))
        self.spec = source.spec

    def __len__(self):
        return self.n

    def annotation(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return self.source.annotation(i)

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return self.source[i]


def unwrap_source(source):
    """The loader behind a ``limit`` wrapper of :func:`build_source` (else ``source`` itself)."""
    return source.source if isinstance(source, _Limited) else source


def build_source(cfg: DataConfig, aspect_ratio: Optional[float] = None):
    """The real-format loader described by ``cfg``, built by its :mod:`datasets.registry` entry
    (errors name the missing file/folder).

    ``aspect_ratio``: crop ``w / h`` of the top-down boxes of the COCO-style loaders (the model
    input's; default 0.75, the 256x192 one)."""
    from datasets.registry import get_dataset
    root = cfg.root
    entry = get_dataset(cfg.dataset)
    if not cfg.ann_file and not os.path.exists(root):
        raise FileNotFoundError(f"data root {root!r} not found (dataset {cfg.dataset}); "
                                "render one with `animalpose generate --out DIR`")
    src = entry.build(cfg, aspect_ratio)
    if cfg.spec and not entry.takes_spec and get_spec(cfg.spec).name != src.spec:
        raise ValueError(f"data.spec {cfg.spec!r}: dataset {cfg.dataset} is read in its own spec {src.spec} "
                         "(data.spec applies to coco_keypoints and dlc)")
    if len(src) == 0:
        raise ValueError(f"{cfg.dataset} at {cfg.ann_file or root} (split {cfg.split}) has no usable instances")
    return _Limited(src, cfg.limit) if cfg.limit else src


def read_mean_file(path: str):
    """``(mean, std)`` RGB triples of a CC-SSL / bearpaw mean file (``torch.save`` of ``{'mean', 'std'}``,
    legacy or zip format), or a one-line error naming the file."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"normalize.mean_file {path!r} not found")
    try:
        d = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unreadable file gets the same one-line message
        raise ValueError(f"{path}: not a readable mean file ({type(e).__name__})") from None
    try:
        mean = tuple(float(v) for v in torch.as_tensor(d["mean"]).reshape(-1))
        std = tuple(float(v) for v in torch.as_tensor(d["std"]).reshape(-1)) if "std" in d else None
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"{path}: a mean file holds {{'mean': 3 numbers, 'std': 3 numbers}}") from None
    if len(mean) != 3 or (std is not None and len(std) != 3):
        raise ValueError(f"{path}: mean and std must have 3 values (RGB)")
    return mean, std


def build_normalize(cfg: NormalizeConfig) -> Normalize:
    mean, std = tuple(cfg.mean), None if cfg.std is None else tuple(cfg.std)
    if cfg.mean_file:
        file_mean, file_std = read_mean_file(cfg.mean_file)
        mean = file_mean
        if std is not None and file_std is not None:
            std = file_std
    return Normalize(mean=mean, std=std, bgr=cfg.bgr, bytescale=cfg.bytescale)


class TopDownDataset(Dataset):
    """``source[i]`` -> augmented, encoded training sample.

    Items are dicts: ``image (3, h, w)`` float tensor, ``target (C, H, W)``,
    ``target_weight (K,)``, ``keypoints (K, 3)`` in input pixels, ``center``,
    ``scale``, ``matrix (2, 3)`` source -> input, ``index``, ``flipped``.

    Args:
        source: a loader (``annotation(i)``, ``source[i]`` with the image).
        spec: keypoint spec the model predicts; the source's keypoints are
            mapped into it when their specs differ (unmapped joints get weight 0).
        codec: heatmap codec (:mod:`animalpose.codecs`).
        augment: :class:`AugmentConfig` (``recipe: none`` for evaluation).
        normalize: :class:`Normalize` of the model's input convention.
        seed: base seed; the sample RNG is ``default_rng([seed, epoch, index])``.
    """

    def __init__(self, source, spec, codec, augment: AugmentConfig, normalize: Normalize, seed: int = 0):
        self.source = source
        self.spec = get_spec(spec)
        self.codec = codec
        recipe = with_overrides(augment.recipe, **augment.overrides) if augment.overrides else augment.recipe
        self.augment = TopDownAugment(recipe, self.spec, codec.input_size, warp=augment.warp,
                                      antialias=augment.antialias, scale_dtype=augment.scale_dtype)
        self.normalize = normalize
        self.seed = int(seed)
        self.epoch = 0
        src_spec = getattr(source, "spec", self.spec.name)
        self.mapping = None if src_spec == self.spec.name else get_mapping(src_spec, self.spec.name)

    def set_epoch(self, epoch: int) -> None:
        """Select the random stream of ``epoch`` (call before each epoch)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.source)

    def keypoints_of(self, sample) -> np.ndarray:
        kp = np.asarray(sample.keypoints, np.float32)
        return self.mapping.apply(kp) if self.mapping is not None else kp

    def __getitem__(self, index: int) -> Dict[str, Any]:
        sample = self.source[index]
        kp = self.keypoints_of(sample)
        rng = np.random.default_rng([self.seed, self.epoch, int(index)])
        out = self.augment(sample.image, kp, sample.center, sample.scale, rng)
        if hasattr(self.codec, "encode_with_source"):   # targets that look at the un-augmented labels
            enc = self.codec.encode_with_source(out.keypoints[None], kp[None])
        else:
            enc = self.codec.encode(out.keypoints[None])
        return {
            "image": self.normalize(out.image),
            "target": torch.from_numpy(enc["heatmaps"][0]),
            "target_weight": torch.from_numpy(enc["weights"][0]),
            "keypoints": torch.from_numpy(out.keypoints.astype(np.float32)),
            "center": torch.from_numpy(np.asarray(out.center, np.float32)),
            "scale": torch.from_numpy(np.asarray(out.scale, np.float32)),
            "matrix": torch.from_numpy(np.asarray(out.matrix, np.float32)),
            "index": int(index),
            "flipped": bool(out.flipped),
        }


def seed_worker(worker_id: int) -> None:
    """DataLoader ``worker_init_fn``: per-worker torch/NumPy/random seeds (sample randomness
    does not depend on them, see :class:`TopDownDataset`)."""
    import random
    s = torch.initial_seed() % 2 ** 32
    np.random.seed(s)
    random.seed(s)

