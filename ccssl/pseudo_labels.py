"""Pseudo-label generation over the unlabelled target set (CC-SSL ``prediction_check``).

For every target instance the identity crop (the evaluation crop) is predicted
under several views whose heatmaps are brought back to the identity frame
and averaged:

* equivariance - the identity plus random scale/rotation re-crops of the
  crop (:mod:`ccssl.equivariance`), optionally their mirror images;
* invariance - photometric perturbations (noise, blur, contrast) that must
  not move the prediction; optionally, joints whose photometric views move
  more than ``invariance_reject`` input pixels get confidence 0;

then keypoint = codec decode of the average (argmax + quarter offset),
confidence = its peak, and temporal consistency (:mod:`ccssl.temporal`)
replaces weak predictions by Lucas-Kanade propagation from the previous
frame of the same shot, and optionally the exclusivity check
(:mod:`ccssl.exclusivity`) zeroes joints that sit on a more confident joint.
:func:`apply_curriculum` keeps the joints above
the epoch's confidence quantile.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import cv2
import numpy as np
import torch

from animalpose.engine.config import CCSSLConfig
from animalpose.engine.evaluator import heatmaps_of
from animalpose.atomic import load_npz, save_npz
from animalpose.transforms import TopDownAugment, affine_points, invert_affine
from animalpose.transforms.photometric import apply_seeded, gaussian_blur, gaussian_noise, LinearContrast

from .curriculum import curriculum_weights
from .exclusivity import coincident_joints
from .equivariance import recrop_matrix, sample_transforms, warp_back
from .temporal import same_shot_pairs, temporal_refine


@dataclass
class PseudoLabels:
    """Pseudo-labels of a target set, in the identity crop's input pixels.

    ``keypoints (N, K, 2)``, ``confidence (N, K)`` (after temporal refinement),
    ``weights (N, K)`` (curriculum mask, 1 = trained on), ``matrices (N, 2, 3)``
    source image -> identity crop, ``replaced (N, K)`` temporal replacements,
    ``threshold`` of the curriculum, ``epoch`` of generation.
    """

    keypoints: np.ndarray
    confidence: np.ndarray
    weights: np.ndarray
    matrices: np.ndarray
    replaced: np.ndarray
    threshold: float = 0.0
    epoch: int = 0

    def image_keypoints(self) -> np.ndarray:
        """``(N, K, 3)`` keypoints in source-image pixels with the curriculum weight as ``v``."""
        xy = affine_points(self.keypoints, invert_affine(self.matrices))
        return np.concatenate([xy, self.weights[..., None]], -1).astype(np.float32)

    def save(self, path: str) -> str:
        """Atomic ``.npz`` write."""
        return save_npz(path, keypoints=self.keypoints, confidence=self.confidence, weights=self.weights,
                        matrices=self.matrices, replaced=self.replaced, threshold=self.threshold, epoch=self.epoch)

    @classmethod
    def load(cls, path: str) -> "PseudoLabels":
        z = load_npz(path, ("keypoints", "confidence", "weights", "matrices", "replaced", "threshold", "epoch"),
                     "pseudo-label")
        return cls(z["keypoints"], z["confidence"], z["weights"], z["matrices"], z["replaced"],
                   float(z["threshold"]), int(z["epoch"]))


def apply_curriculum(labels: PseudoLabels, epoch: int, cfg: CCSSLConfig) -> PseudoLabels:
    """Set ``weights`` = confidence above the epoch's quantile (in place; returns ``labels``)."""
    labels.weights, labels.threshold = curriculum_weights(
        labels.confidence, epoch, start=cfg.curriculum_start, rate=cfg.curriculum_rate, floor=cfg.curriculum_floor)
    labels.epoch = epoch
    return labels


def view_transforms(rng: np.random.Generator, m: int, views: int, cfg: CCSSLConfig):
    """``scales (m, views)``, ``rotations (m, views)`` of the equivariance views of ``m`` images: drawn
    per image (``cfg.views == "image"``, the reference) or once for the batch (``"batch"``)."""
    if cfg.views == "batch":
        s, r = sample_transforms(rng, views, cfg.scale_factor, cfg.rot_factor)
        return np.tile(s, (m, 1)), np.tile(r, (m, 1))
    draws = [sample_transforms(rng, views, cfg.scale_factor, cfg.rot_factor) for _ in range(m)]
    return np.stack([d[0] for d in draws]), np.stack([d[1] for d in draws])


def padding_value(normalize, mode: str) -> tuple:
    """Re-crop border colour (RGB bytes): the input convention's mean grey (``mean``; the network
    sees about 0 there, as the reference's padded re-crops) or black (``black``)."""
    if mode == "black":
        return (0.0, 0.0, 0.0)
    return tuple(float(np.clip(np.rint(255.0 * m), 0, 255)) for m in normalize.mean)


def recrop(image: np.ndarray, matrix: np.ndarray, size, border: tuple) -> np.ndarray:
    """Equivariance view of an identity crop: bilinear warp by ``matrix (2, 3)``, ``border`` outside."""
    return cv2.warpAffine(image, matrix, (int(size[0]), int(size[1])), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=border)


def _photometric_ops():
    return [gaussian_noise(0.08, True), gaussian_blur((1.0, 2.0)), LinearContrast((0.6, 1.5), 0.5)]


@torch.no_grad()
def generate(model, source, spec, codec, normalize, device, cfg: CCSSLConfig, seed: int = 0,
             batch_size: int = 16, progress: Optional[Callable[[int], None]] = None,
             antialias: bool = False) -> PseudoLabels:
    """Pseudo-labels (before the curriculum) for every instance of ``source`` (identity crops
    antialiased when ``antialias``, as the evaluation crops of the same config)."""
    model.eval()
    w, h = codec.input_size
    hw, hh = codec.heatmap_size
    crop = TopDownAugment("none", spec, (w, h), warp="standard", antialias=antialias)
    rng = np.random.default_rng(seed)
    pad = padding_value(normalize, cfg.view_padding)
    photometric = _photometric_ops()
    n = len(source)
    K = spec.num_joints
    out_kp = np.zeros((n, K, 2), np.float32)
    out_conf = np.zeros((n, K), np.float32)
    mats = np.zeros((n, 2, 3), np.float64)
    reject = np.zeros((n, K), bool)
    grays, vids, fids = [], np.full(n, -1, dtype=object), np.zeros(n, np.int64)
    for start in range(0, n, batch_size):
        idx = list(range(start, min(n, start + batch_size)))
        crops = []
        for i in idx:
            s = source[i]
            a = crop(s.image, np.zeros((K, 3), np.float32), s.center, s.scale)
            crops.append(a.image)
            mats[i] = a.matrix
            grays.append(cv2.cvtColor(a.image, cv2.COLOR_RGB2GRAY))
            # shot and frame of the instance; images without them never chain (distinct fake frames)
            vids[i] = s.video_id if s.video_id is not None else -1
            fids[i] = s.frame_id if s.frame_id is not None else -10 * (i + 1)
        m = len(idx)
        views = cfg.num_transforms if cfg.equivariance else 1
        scales, rots = view_transforms(rng, m, views, cfg)
        total = torch.zeros(m, K, hh, hw)
        count = 0
        for v in range(views):
            mv = np.stack([recrop_matrix((w, h), scales[i, v], rots[i, v]) for i in range(m)])
            imgs = [recrop(c, mv[i], (w, h), pad) if v else c for i, c in enumerate(crops)]
            total += _predict_back(model, imgs, mv, normalize, device, codec, spec, cfg.flip)
            count += 1
        if cfg.invariance:
            ident = codec.decode(total / count)[0]
            moves = []
            for p in range(cfg.invariance):
                op = photometric[p % len(photometric)]
                imgs = [apply_seeded(op, c, rng) for c in crops]
                hm = _predict_back(model, imgs, np.repeat(np.eye(2, 3)[None], m, 0), normalize, device, codec, spec,
                                   cfg.flip)
                total += hm
                count += 1
                moves.append(np.linalg.norm(codec.decode(hm)[0] - ident, axis=-1))
            if cfg.invariance_reject is not None:
                reject[idx] = np.max(moves, axis=0) > cfg.invariance_reject
        avg = total / count
        kp, _ = codec.decode(avg)
        out_kp[idx] = kp
        out_conf[idx] = avg.amax(dim=(2, 3)).numpy()
        if progress:
            progress(m)
    out_conf[reject] = 0.0
    replaced = np.zeros((n, K), bool)
    if cfg.temporal and n > 1:
        prev = same_shot_pairs(vids, fids, respect_shots=cfg.respect_shots)
        out_kp, out_conf, replaced = temporal_refine(out_kp, out_conf, grays, prev, decay=cfg.decay,
                                                     max_displacement=cfg.max_flow,
                                                     side_effect=cfg.flow_side_effect)
    if cfg.min_separation is not None:
        out_conf = np.where(coincident_joints(out_kp, out_conf, cfg.min_separation), 0.0, out_conf)
    return PseudoLabels(np.asarray(out_kp, np.float32), np.asarray(out_conf, np.float32),
                        np.ones((n, K), np.float32), mats, np.asarray(replaced, bool))


def _predict_back(model, images, recrop, normalize, device, codec, spec, flip: bool) -> torch.Tensor:
    """Heatmaps of ``images`` (re-crops of the identity crops by ``recrop``) in the identity frame."""
    x = torch.stack([normalize(im) for im in images]).to(device)
    hm = heatmaps_of(model(x))
    if flip:
        hm_f = heatmaps_of(model(torch.flip(x, dims=[3])))
        hm = codec.flip_test(hm, hm_f, spec)
        if codec.flip_reduce == "sum":
            hm = hm * 0.5
    hm = hm.float().cpu()
    if np.allclose(recrop, np.eye(2, 3)[None]):
        return hm
    return warp_back(hm, recrop, codec.input_size, codec.heatmap_size)
