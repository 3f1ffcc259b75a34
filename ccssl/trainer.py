"""CC-SSL joint training: source batches with labels + target batches with pseudo-labels.

Every ``label_every`` epochs the current model labels the target training set
(:func:`ccssl.pseudo_labels.generate`), the curriculum keeps the confident
joints, and the labels are saved to ``OUT/ssl_labels/round_EEE.npz``.  Each
step then zips one source batch (the config's ``augment``, CC-SSL's strong
recipe without flip) with one target batch (``ccssl.target_augment``, bearpaw)
and minimises ``L_src + gamma * L_trg``.  With ``ccssl.target_context:
frame`` pseudo-labels are mapped back to the source image, so augmented target
crops keep their real context; with ``crop`` (the reference) the target
augmentation works on the identity crop itself (black outside it), as the
reference re-crops its saved 256-pixel crops.  Resuming reloads the labels of
the current round.
"""
from __future__ import annotations

import os
from dataclasses import replace
from typing import Callable, Optional

import cv2
import numpy as np
from torch.utils.data import DataLoader

from animalpose.engine.config import ExperimentConfig
from animalpose.engine.data import TopDownDataset, build_source
from animalpose.engine.trainer import Trainer
from animalpose.models import load_checkpoint
from animalpose.transforms.resample import warp_antialiased

from .pseudo_labels import PseudoLabels, apply_curriculum, generate


class PseudoLabeledSource:
    """A target loader whose keypoints are replaced by pseudo-labels (``v`` = curriculum weight)."""

    def __init__(self, source, labels: PseudoLabels, spec_name: str):
        if len(source) != len(labels.keypoints):
            raise ValueError(f"{len(labels.keypoints)} pseudo-labels for {len(source)} target instances")
        self.source, self.spec = source, spec_name
        self.keypoints = labels.image_keypoints()

    def __len__(self):
        return len(self.source)

    def annotation(self, i):
        return replace(self.source.annotation(i), keypoints=self.keypoints[i].copy(), spec=self.spec)

    def __getitem__(self, i):
        return replace(self.source[i], keypoints=self.keypoints[i].copy(), spec=self.spec)


class CropContextSource:
    """Target instances as their identity crops (``(h, w)`` image, black outside the crop) with the
    pseudo-labels in crop pixels, centre ``(w/2, h/2)`` and scale ``(w, h) / 200``: the reference's
    ``ssl_real_animal_crop`` samples."""

    def __init__(self, source, labels: PseudoLabels, spec_name: str, input_size, antialias: bool = False):
        if len(source) != len(labels.keypoints):
            raise ValueError(f"{len(labels.keypoints)} pseudo-labels for {len(source)} target instances")
        self.source, self.spec, self.labels = source, spec_name, labels
        self.size = (int(input_size[0]), int(input_size[1]))
        self.antialias = antialias

    def __len__(self):
        return len(self.source)

    def annotation(self, i):
        w, h = self.size
        kp = np.concatenate([self.labels.keypoints[i], self.labels.weights[i][:, None]], -1).astype(np.float32)
        return replace(self.source.annotation(i), keypoints=kp, spec=self.spec, bbox=np.float32([0, 0, w, h]),
                       center=np.float32([w / 2.0, h / 2.0]), scale=np.float32([w / 200.0, h / 200.0]))

    def __getitem__(self, i):
        s = self.source[i]
        m = self.labels.matrices[i]
        crop = (warp_antialiased(s.image, m, self.size) if self.antialias
                else cv2.warpAffine(s.image, m, self.size, flags=cv2.INTER_LINEAR))
        return replace(self.annotation(i), image=crop)


class CCSSLTrainer(Trainer):
    """:class:`~animalpose.engine.trainer.Trainer` with CC-SSL rounds (needs ``cfg.ccssl``).

    Args:
        source_checkpoint: the source-pretrained weights to adapt (ignored when resuming).
    """

    def __init__(self, cfg: ExperimentConfig, out_dir: str, source_checkpoint: Optional[str] = None,
                 resume: bool = False, quiet: bool = False, log: Callable[[str], None] = print,
                 overwrite: bool = False):
        if cfg.ccssl is None:
            raise ValueError("the config has no `ccssl` section (see animalpose/configs/ccssl_adapt_*.yaml)")
        super().__init__(cfg, out_dir, resume=resume, quiet=quiet, log=log, overwrite=overwrite)
        if not resume and source_checkpoint:
            load_checkpoint(self.model, source_checkpoint)
        self.ssl = cfg.ccssl
        self.target_source = build_source(self.ssl.target_data)
        self.labels: Optional[PseudoLabels] = None
        self.label_dir = os.path.join(out_dir, "ssl_labels")

    def _round_path(self, epoch: int) -> str:
        return os.path.join(self.label_dir, f"round_{epoch:03d}.npz")

    def refresh_labels(self, epoch: int) -> PseudoLabels:
        """Labels of the round that covers ``epoch`` (generated, or reloaded when resuming)."""
        round_epoch = epoch - epoch % self.ssl.label_every
        path = self._round_path(round_epoch)
        if os.path.isfile(path) and (self.labels is None or self.labels.epoch != round_epoch):
            self.labels = PseudoLabels.load(path)
            return self.labels
        if self.labels is not None and self.labels.epoch == round_epoch:
            return self.labels
        from animalpose.progress import Steps
        bar = Steps(f"pseudo-labels (epoch {epoch + 1})", len(self.target_source), self.quiet or not self.dist.is_main)
        labels = generate(self.model, self.target_source, self.spec, self.codec, self.normalize, self.device,
                          self.ssl, seed=self.cfg.train.seed * 1000 + round_epoch,
                          progress=bar.advance, antialias=self.cfg.augment.antialias)
        bar.finish()
        apply_curriculum(labels, round_epoch, self.ssl)
        if self.dist.is_main:
            os.makedirs(self.label_dir, exist_ok=True)
            labels.save(path)
        kept = float(labels.weights.mean())
        self.log(f"pseudo-labels for epoch {round_epoch + 1}: threshold {labels.threshold:.3f}, kept {100 * kept:.0f}% "
                 f"of joints, {int(labels.replaced.sum())} replaced by optical flow")
        self.labels = labels
        return labels

    def _target_loader(self, epoch: int) -> DataLoader:
        labels = self.refresh_labels(epoch)
        if self.ssl.target_context == "crop":
            target = CropContextSource(self.target_source, labels, self.spec.name, self.codec.input_size,
                                       antialias=self.cfg.augment.antialias)
        else:
            target = PseudoLabeledSource(self.target_source, labels, self.spec.name)
        ds = TopDownDataset(target, self.spec, self.codec, self.ssl.target_augment, self.normalize,
                            seed=self.cfg.train.seed + 7919)
        return self.epoch_loader(ds, epoch, stream=1)

    # ------------------------------------------------------------------ method hooks
    def epoch_batches(self, epoch: int):
        """Pairs (source batch, target batch) of ``epoch``; the target set is labelled first (a new
        round every ``label_every`` epochs)."""
        target_loader = self._target_loader(epoch)
        source_loader = self._train_loader(epoch)
        steps = min(len(source_loader), len(target_loader))
        if self.cfg.train.max_steps_per_epoch is not None:
            steps = min(steps, self.cfg.train.max_steps_per_epoch)
        return zip(source_loader, target_loader), steps

    def training_step(self, batch, epoch: int, step: int, steps: int):
        """``L_src + gamma * L_trg`` of one source and one pseudo-labelled target batch."""
        src, trg = batch
        dev = self.device
        loss_src = self.loss_fn(self.net(src["image"].to(dev)), src["target"].to(dev), src["target_weight"].to(dev))
        loss_trg = self.loss_fn(self.net(trg["image"].to(dev)), trg["target"].to(dev), trg["target_weight"].to(dev))
        return {"total": loss_src + self.ssl.gamma * loss_trg, "loss_source": loss_src, "loss_target": loss_trg}

    def bar_label(self, epoch: int) -> str:
        return f"adapt {epoch + 1}/{self.cfg.train.epochs}"
