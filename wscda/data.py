"""The three WS-CDA data streams: pose-labelled humans, pose-labelled animals, unlabelled target animals.

Sources here are thin views over the kit's real-format loaders (anything with
``__len__``, ``annotation(i)`` and ``source[i]`` returning a
:class:`~datasets.sample.PoseSample`); :class:`~animalpose.engine.data.TopDownDataset`
turns each into training tensors and, because the model predicts the animal
spec, maps human keypoints through ``coco17_to_animalpose20`` (joints without
a human counterpart get weight 0).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Iterator, List, Sequence, Tuple

import numpy as np
import torch
from torch.utils.data import DataLoader, RandomSampler

from animalpose.engine.data import seed_worker
from animalpose.keypoints import get_mapping, get_spec


class Subset:
    """Instances ``indices`` of a loader (the target species' train or test part)."""

    def __init__(self, source, indices: Sequence[int]):
        self.source, self.indices = source, [int(i) for i in indices]
        self.spec = source.spec

    def __len__(self):
        return len(self.indices)

    def annotation(self, i):
        return self.source.annotation(self.indices[i])

    def __getitem__(self, i):
        return self.source[self.indices[i]]


class BoxesOnly:
    """A loader with its keypoints removed (all ``v = 0``): the unlabelled target stream only has boxes."""

    def __init__(self, source):
        self.source, self.spec = source, source.spec
        self.num_joints = get_spec(source.spec).num_joints

    def __len__(self):
        return len(self.source)

    def _strip(self, s):
        return replace(s, keypoints=np.zeros((self.num_joints, 3), np.float32))

    def annotation(self, i):
        return self._strip(self.source.annotation(i))

    def __getitem__(self, i):
        return self._strip(self.source[i])


class PseudoLabeled:
    """A loader whose keypoints are pseudo-labels ``(N, K, 3)`` in image pixels (``v`` = kept 0/1)."""

    def __init__(self, source, keypoints: np.ndarray):
        if len(source) != len(keypoints):
            raise ValueError(f"{len(keypoints)} pseudo-labels for {len(source)} target instances")
        self.source, self.spec = source, source.spec
        self.keypoints = np.asarray(keypoints, np.float32)

    def __len__(self):
        return len(self.source)

    def annotation(self, i):
        return replace(self.source.annotation(i), keypoints=self.keypoints[i].copy())

    def __getitem__(self, i):
        return replace(self.source[i], keypoints=self.keypoints[i].copy())


def split_by_image(source, test_fraction: float, seed: int = 0) -> Tuple[List[int], List[int]]:
    """``(train, test)`` instance indices with whole images on one side: a seeded permutation of the
    sorted image ids, the first ``round(test_fraction * images)`` (at least 1) go to test."""
    ids = [source.annotation(i).image_id for i in range(len(source))]
    images = sorted(set(ids), key=lambda v: (str(type(v)), v))
    if len(images) < 2:
        raise ValueError(f"the target species has {len(images)} image(s); need at least 2 to split train/test")
    perm = np.random.default_rng(seed).permutation(len(images))
    n_test = min(max(1, int(round(test_fraction * len(images)))), len(images) - 1)
    test_images = {images[j] for j in perm[:n_test]}
    train = [i for i, v in enumerate(ids) if v not in test_images]
    test = [i for i, v in enumerate(ids) if v in test_images]
    return train, test


def target_split(wcfg, input_size) -> Tuple[Subset, Subset]:
    """``(train, test)`` parts of ``wcfg.target_data`` (``WSCDAConfig``), crops shaped like ``input_size (w, h)``.
    The same config always gives the same split (the trainer and the experiment script both call this)."""
    from animalpose.engine.data import build_source
    src = build_source(wcfg.target_data)
    set_aspect_ratio(src, input_size[0] / input_size[1])
    tr, te = split_by_image(src, wcfg.test_fraction, wcfg.split_seed)
    return Subset(src, tr), Subset(src, te)


def set_aspect_ratio(source, aspect_ratio: float) -> None:
    """Make a loader's crop boxes match the network input (``w / h``); COCO defaults to 0.75 (256x192)."""
    s = source
    while s is not None:
        if hasattr(s, "aspect_ratio"):
            s.aspect_ratio = float(aspect_ratio)
            return
        s = getattr(s, "source", None)


def joint_mask(src_spec: str, dst_spec: str) -> np.ndarray:
    """``(K_dst,)`` bool: the destination joints a source-spec sample supervises (all for the same spec)."""
    if src_spec == dst_spec:
        return np.ones(get_spec(dst_spec).num_joints, bool)
    return get_mapping(src_spec, dst_spec).mask


def cycle_batches(dataset, batch_size: int, seed: int, epoch: int, stream: int, workers: int = 0,
                  pin_memory: bool = False) -> Iterator[dict]:
    """Endless shuffled batches of one stream.  Pass ``k`` of ``epoch`` draws its order from
    ``(seed, epoch, stream, k)`` and its augmentation from ``dataset.set_epoch(epoch * 1000 + k)``, so
    a run is reproducible and a stream shorter than the epoch is simply reshuffled."""
    k = 0
    while True:
        dataset.set_epoch(epoch * 1000 + k)
        g = torch.Generator()
        g.manual_seed(((seed * 100003 + epoch) * 101 + stream) * 1009 + k)
        loader = DataLoader(dataset, batch_size=batch_size, sampler=RandomSampler(dataset, generator=g),
                            num_workers=workers, drop_last=len(dataset) >= batch_size,
                            worker_init_fn=seed_worker, pin_memory=pin_memory)
        empty = True
        for batch in loader:
            empty = False
            yield batch
        if empty:
            raise ValueError("a WS-CDA stream has no instances")
        k += 1
