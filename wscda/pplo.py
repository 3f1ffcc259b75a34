"""Progressive pseudo-label optimisation (PPLO) on the unseen target species.

Starting from a WS-CDA model, each of ``pplo.rounds`` rounds

1. predicts every unlabelled target training instance (the evaluation crop,
   optionally flip-averaged; keypoint = codec decode, confidence = heatmap peak),
2. keeps the joints whose confidence passes the round's threshold - the
   threshold relaxes from ``threshold_start`` to ``threshold_end`` over the
   rounds (:func:`threshold_schedule`), so the first round trusts only the
   most confident joints and later rounds, made by a better model, add more;
   instances with fewer than ``min_joints`` kept joints are not pose-supervised,
3. saves the labels to ``OUT/pplo_labels/round_RR.npz`` and trains
   ``epochs_per_round`` epochs of the WS-CDA objective in which the target
   stream now carries the pseudo-labels (``L_A`` with weight
   ``w2 * pplo.weight``, still ``y = 1, z = 1`` for the discriminator).

Labels are regenerated from the current model every round (not accumulated),
as the threshold is relaxed.  Resuming reloads the current round's file.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Callable, List, Optional, Tuple

import numpy as np
import torch
from torch.utils.data import DataLoader

from animalpose.engine.config import AugmentConfig, ExperimentConfig
from animalpose.engine.data import TopDownDataset
from animalpose.engine.evaluator import predict
from animalpose.atomic import load_npz, save_npz
from animalpose.transforms import affine_points, invert_affine

from .config import PPLOConfig, WSCDAConfig
from .data import BoxesOnly, PseudoLabeled
from .trainer import WSCDATrainer


def threshold_schedule(start: float, end: float, rounds: int, schedule: str = "linear") -> List[float]:
    """Per-round thresholds from ``start`` (round 0) to ``end`` (last round), non-increasing.

    ``linear``: ``start + (end - start) * r / (R - 1)``; ``geometric``: ``start * (end / start) ** (r / (R - 1))``.
    One round uses ``start``.
    """
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    if end > start:
        raise ValueError(f"the threshold must relax (end {end} > start {start})")
    if rounds == 1:
        return [float(start)]
    t = np.arange(rounds) / (rounds - 1)
    if schedule == "linear":
        vals = start + (end - start) * t
    elif schedule == "geometric":
        if start <= 0 or end <= 0:
            raise ValueError("a geometric schedule needs positive thresholds")
        vals = start * (end / start) ** t
    else:
        raise ValueError(f"schedule must be linear or geometric, got {schedule!r}")
    return [float(v) for v in vals]


def select_joints(confidence: np.ndarray, threshold: float, mode: str = "absolute",
                  min_joints: int = 0) -> Tuple[np.ndarray, float]:
    """``(weights (N, K) 0/1, confidence cut)``: joints at or above the cut; rows with fewer than
    ``min_joints`` kept joints are zeroed.  ``absolute``: cut = ``threshold``; ``quantile``: cut = the
    ``threshold`` quantile of all confidences (0.8 keeps about the top 20 %)."""
    conf = np.asarray(confidence, np.float64)
    if mode == "absolute":
        cut = float(threshold)
    elif mode == "quantile":
        cut = float(np.quantile(conf, threshold)) if conf.size else float("inf")
    else:
        raise ValueError(f"mode must be absolute or quantile, got {mode!r}")
    keep = conf >= cut
    if min_joints > 0:
        keep &= keep.sum(axis=1, keepdims=True) >= min_joints
    return keep.astype(np.float32), cut


@dataclass
class PPLOLabels:
    """Pseudo-labels of one round: ``keypoints (N, K, 2)`` and ``confidence (N, K)`` in source-image
    pixels, ``weights (N, K)`` (kept 1 / dropped 0), the round's ``threshold`` (the configured value),
    the confidence ``cut`` it resolved to, and the ``round`` index."""

    keypoints: np.ndarray
    confidence: np.ndarray
    weights: np.ndarray
    threshold: float
    cut: float
    round: int

    def image_keypoints(self) -> np.ndarray:
        """``(N, K, 3)``: x, y and the weight as visibility (what the training loaders read)."""
        return np.concatenate([self.keypoints, self.weights[..., None]], -1).astype(np.float32)

    def save(self, path: str) -> str:
        return save_npz(path, keypoints=self.keypoints, confidence=self.confidence, weights=self.weights,
                        threshold=self.threshold, cut=self.cut, round=self.round)

    @classmethod
    def load(cls, path: str) -> "PPLOLabels":
        z = load_npz(path, ("keypoints", "confidence", "weights", "threshold", "cut", "round"), "PPLO label")
        return cls(z["keypoints"], z["confidence"], z["weights"], float(z["threshold"]), float(z["cut"]),
                   int(z["round"]))


@torch.no_grad()
def predict_instances(model, source, spec, codec, normalize, device, flip: bool = False, batch_size: int = 16,
                      warp: str = "standard") -> Tuple[np.ndarray, np.ndarray]:
    """``(keypoints (N, K, 2) in image pixels, confidence (N, K))`` of every instance (evaluation crop).
    The source's own keypoints are never read."""
    ds = TopDownDataset(BoxesOnly(source), spec, codec, AugmentConfig(recipe="none", warp=warp), normalize)
    model.eval()
    kps, confs = [], []
    for batch in DataLoader(ds, batch_size=batch_size, shuffle=False, num_workers=0):
        hm = predict(model, batch["image"].to(device), codec, spec, flip)
        kp, sc = codec.decode(hm.float().cpu())
        kps.append(affine_points(kp, invert_affine(batch["matrix"].numpy())))
        confs.append(np.asarray(sc))
    return np.concatenate(kps).astype(np.float32), np.concatenate(confs).astype(np.float32)


class PPLOTrainer(WSCDATrainer):
    """WS-CDA training whose target stream carries the pseudo-labels of the current PPLO round.

    ``train.epochs`` becomes ``pplo.rounds * pplo.epochs_per_round``; ``pplo.lr`` (when set) replaces
    ``optim.lr`` and drops the milestones; ``pplo.adversarial: false`` trains without the discriminator.
    """

    log_name = "pplo"

    def __init__(self, cfg: ExperimentConfig, wcfg: WSCDAConfig, out_dir: str,
                 source_checkpoint: Optional[str] = None, resume: bool = False, quiet: bool = False,
                 log: Callable[[str], None] = print, overwrite: bool = False):
        p: PPLOConfig = wcfg.pplo
        train = replace(cfg.train, epochs=p.rounds * p.epochs_per_round)
        optim = cfg.optim if p.lr is None else replace(cfg.optim, lr=p.lr, milestones=[])
        cfg = replace(cfg, train=train, optim=optim)
        if not p.adversarial:
            wcfg = replace(wcfg, adversarial=False)
        wcfg = replace(wcfg, use_target=True)
        self.pplo = p
        self.thresholds = threshold_schedule(p.threshold_start, p.threshold_end, p.rounds, p.schedule)
        self.labels: Optional[PPLOLabels] = None
        super().__init__(cfg, wcfg, out_dir, source_checkpoint=source_checkpoint, resume=resume, quiet=quiet,
                         log=log, overwrite=overwrite)
        self.label_dir = os.path.join(out_dir, "pplo_labels")

    def round_path(self, r: int) -> str:
        return os.path.join(self.label_dir, f"round_{r:02d}.npz")

    def refresh_labels(self, r: int) -> PPLOLabels:
        """Labels of round ``r``: reloaded when the file exists, else predicted by the current model."""
        if self.labels is not None and self.labels.round == r:
            return self.labels
        path = self.round_path(r)
        if os.path.isfile(path):
            self.labels = PPLOLabels.load(path)
            return self.labels
        kp, conf = predict_instances(self.model, self.target_train, self.spec, self.codec, self.normalize,
                                     self.device, flip=self.pplo.flip, batch_size=self.cfg.eval.batch_size,
                                     warp=self.cfg.augment.warp)
        thr = self.thresholds[r]
        weights, cut = select_joints(conf, thr, self.pplo.threshold_mode, self.pplo.min_joints)
        labels = PPLOLabels(kp, conf, weights, thr, cut, r)
        if self.dist.is_main:
            os.makedirs(self.label_dir, exist_ok=True)
            labels.save(path)
        used = int((weights.sum(1) > 0).sum())
        self.log(f"pplo round {r + 1}/{self.pplo.rounds}: threshold {thr:.3g} (confidence >= {cut:.3g}) keeps "
                 f"{100 * float(weights.mean()):.0f}% of joints, {used}/{len(weights)} instances pose-supervised")
        self.labels = labels
        return labels

    def target_dataset(self, epoch: int):
        labels = self.refresh_labels(epoch // self.pplo.epochs_per_round)
        ds = TopDownDataset(PseudoLabeled(self.target_train, labels.image_keypoints()), self.spec, self.codec,
                            self.wcfg.target_augment or self.cfg.augment, self.normalize,
                            seed=self.cfg.train.seed + 7919)
        return ds, self.pplo.weight
