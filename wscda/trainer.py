"""WS-CDA training: pose-labelled humans + pose-labelled animals + unlabelled target animals.

One step concatenates a batch of each stream and runs the shared network
once.  The keypoint estimator is trained on the labelled images
(``L_pose``: ``w2 * L_A`` on animals, ``L_H`` on humans, human joints mapped
into the animal spec with unmapped joints masked); the features tapped at
``wscda.feature_layer`` go through a **gradient reversal layer** into the
:class:`~wscda.discriminator.DomainDiscriminator` (``L_DDL`` on
human-vs-animal ``y`` and, for animals, target-vs-not ``z``).  The step
minimises ``beta * L_pose + |alpha| * L_DDL(D(GRL(f)))`` in one backward
pass, so

* the discriminator receives ``|alpha| dL_DDL/dtheta_D`` - it minimises its loss;
* the extractor receives ``beta dL_pose/dtheta_F - |alpha| dL_DDL/dtheta_F`` - it
  minimises the paper's ``alpha * L_DDL + beta * L_pose`` with ``alpha < 0``.

Logged per step to TensorBoard and per epoch to ``OUT/losses.json``:
``disc`` (= L_DDL, the discriminator's loss) and its ``ddl_y``/``ddl_z``
terms, ``extractor`` (= ``alpha * g * L_DDL + beta * L_pose`` with the GRL
strength ``g``, the extractor's loss), ``pose``, ``pose_animal``,
``pose_human``, discriminator accuracies ``acc_y``/``acc_z``.

``wscda.use_human: false`` / ``adversarial: false`` give the two baselines
(animal labels only; + human data without adaptation) through the same
code.  The checkpoints are ordinary kit checkpoints (``load_trained``,
``animalpose evaluate``) with the discriminator under ``"discriminator"``;
the WS-CDA section is part of the stored experiment config.
"""
from __future__ import annotations

import json
import math
import os
from typing import Callable, Dict, Optional, Tuple

import torch

from animalpose.engine.config import ExperimentConfig
from animalpose.engine.data import TopDownDataset, build_source
from animalpose.engine.run_folder import atomic_write_text
from animalpose.engine.trainer import Trainer
from animalpose.models import load_checkpoint
from animalpose.models.checkpoint import read_checkpoint

from .config import WSCDAConfig
from .data import BoxesOnly, cycle_batches, set_aspect_ratio, target_split
from .discriminator import DomainDiscriminator, FeatureTap, default_feature_layer, feature_channels
from .grl import grad_reverse, grl_coefficient
from .losses import ddl_loss, per_image_mse, pose_loss

HUMAN, ANIMAL, TARGET = 0, 1, 2
#: (y, z) domain labels of the streams
DOMAIN = {HUMAN: (0.0, 0.0), ANIMAL: (1.0, 0.0), TARGET: (1.0, 1.0)}


class WSCDATrainer(Trainer):
    """:class:`~animalpose.engine.trainer.Trainer` for WS-CDA.

    Args:
        cfg: the experiment; ``train_data`` is the pose-labelled animal set.
        wcfg: the ``wscda`` section.
        source_checkpoint: weights to start from (e.g. a human-pretrained model; ignored when resuming).
    """

    log_name = "wscda"

    def __init__(self, cfg: ExperimentConfig, wcfg: WSCDAConfig, out_dir: str,
                 source_checkpoint: Optional[str] = None, resume: bool = False, quiet: bool = False,
                 log: Callable[[str], None] = print, overwrite: bool = False):
        self.wcfg = wcfg
        self.loss_log = []
        super().__init__(cfg, out_dir, resume=resume, quiet=quiet, log=log, overwrite=overwrite)
        if not resume and source_checkpoint:
            self._load_source(source_checkpoint)
        self.log(f"{self.log_name}: {len(self.train_source)} labelled animals, "
                 f"{len(self.human_source) if self.human_source is not None else 0} humans, "
                 f"{len(self.target_train)} unlabelled target instances (+{len(self.target_test)} held out for "
                 f"evaluation)")

    # ----------------------------------------------------------------- setup
    def setup_method(self) -> None:
        """The human and target streams and, when adversarial, the feature tap and discriminator."""
        cfg, wcfg = self.cfg, self.wcfg
        w, h = self.codec.input_size
        set_aspect_ratio(self.train_source, w / h)
        self.target_train, self.target_test = target_split(wcfg, self.codec.input_size)
        self._check_disjoint()
        if self.val_source is None:
            self.val_source = self.target_test
        self.human_source = None
        if wcfg.use_human:
            self.human_source = build_source(wcfg.human_data)
            set_aspect_ratio(self.human_source, w / h)
            self.human_set = TopDownDataset(self.human_source, self.spec, self.codec,
                                            wcfg.human_augment or cfg.augment, self.normalize,
                                            seed=cfg.train.seed + 104729)
        self.tap, self.disc, self.disc_net = None, None, None
        if wcfg.discriminates:
            layer = wcfg.feature_layer or default_feature_layer(cfg.model.name, cfg.model.options)
            self.tap = FeatureTap(self.model, layer)
            channels = feature_channels(self.model, self.tap, self.codec.input_size)
            d = wcfg.discriminator
            self.disc = DomainDiscriminator(channels, d.channels, d.layers).to(self.device)
            self.disc_net = self.disc
            if self.dist.enabled:
                self.disc_net = torch.nn.parallel.DistributedDataParallel(
                    self.disc, device_ids=[self.device.index] if self.device.type == "cuda" else None)
            self.log(f"{self.log_name}: discriminator on {layer} ({channels} channels), gradient reversal, "
                     f"alpha {wcfg.alpha:g}, beta {wcfg.beta:g}")

    def param_groups(self):
        if self.disc is None:
            return self.model.parameters()
        return [{"params": list(self.model.parameters())},
                {"params": list(self.disc.parameters()), "lr": self.cfg.optim.lr * self.wcfg.discriminator.lr_mult}]

    def _check_disjoint(self) -> None:
        """The labelled animal set must not contain the target species."""
        target = {self.target_train.annotation(i).category for i in range(len(self.target_train))}
        target.discard(None)
        seen = {self.train_source.annotation(i).category for i in range(len(self.train_source))}
        both = sorted(c for c in target & seen if c)
        if both:
            raise ValueError(f"train_data contains the target species {', '.join(both)}: exclude it there "
                             f"(train_data.exclude: [{', '.join(both)}])")

    def _load_source(self, path: str) -> None:
        load_checkpoint(self.model, path)
        if self.disc is not None:
            _, meta = read_checkpoint(path)
            state = meta.get("discriminator")
            if isinstance(state, dict):
                try:
                    self.disc.load_state_dict(state)
                    self.log(f"{self.log_name}: discriminator continued from {path}")
                except (RuntimeError, KeyError):
                    pass

    def guarded_modules(self):
        return [self.model] + ([self.disc] if self.disc is not None else [])

    def checkpoint_extra(self) -> dict:
        if self.disc is None:
            return {}
        return {"discriminator": {k: v.detach().cpu() for k, v in self.disc.state_dict().items()}}

    def _resume(self) -> None:
        super()._resume()
        if self.disc is not None:
            meta = torch.load(self.last_path, map_location=self.device, weights_only=True)
            if "discriminator" not in meta:
                raise ValueError(f"{self.last_path}: no discriminator state to resume WS-CDA from")
            self.disc.load_state_dict(meta["discriminator"])
        self.loss_log = self._read_loss_log()[:self.start_epoch]

    @property
    def _loss_log_path(self) -> str:
        return os.path.join(self.out_dir, "losses.json")

    def _read_loss_log(self):
        if os.path.isfile(self._loss_log_path):
            with open(self._loss_log_path) as f:
                return json.load(f)
        return []

    # ----------------------------------------------------------------- streams
    def target_dataset(self, epoch: int) -> Tuple[TopDownDataset, float]:
        """The target stream of ``epoch`` and the pose-loss weight of its images (0: boxes only)."""
        if not hasattr(self, "_boxes_only"):
            self._boxes_only = TopDownDataset(BoxesOnly(self.target_train), self.spec, self.codec,
                                              self.wcfg.target_augment or self.cfg.augment, self.normalize,
                                              seed=self.cfg.train.seed + 7919)
        return self._boxes_only, 0.0

    def _streams(self, epoch: int):
        t, w = self.cfg.train, self.wcfg
        pin = self.device.type == "cuda"
        out = {ANIMAL: (cycle_batches(self.train_set, t.batch_size, t.seed, epoch, ANIMAL, t.workers, pin), 1.0)}
        if self.human_source is not None:
            out[HUMAN] = (cycle_batches(self.human_set, w.human_batch_size or t.batch_size, t.seed, epoch, HUMAN,
                                        t.workers, pin), 1.0)
        if w.use_target:
            ds, weight = self.target_dataset(epoch)
            out[TARGET] = (cycle_batches(ds, w.target_batch_size or t.batch_size, t.seed, epoch, TARGET, t.workers,
                                         pin), weight)
        return out

    def steps_per_epoch(self) -> int:
        bs = self.cfg.train.batch_size
        n = len(self.train_set)
        steps = max(1, n // bs if n >= 2 * bs else math.ceil(n / bs))
        if self.cfg.train.max_steps_per_epoch is not None:
            steps = min(steps, self.cfg.train.max_steps_per_epoch)
        return steps

    # ----------------------------------------------------------------- step
    def compute_losses(self, batches: Dict[int, Tuple[dict, float]], progress: float) -> Dict[str, torch.Tensor]:
        """All losses of one step; ``batches = {stream: (batch, pose weight)}``."""
        w = self.wcfg
        dev = self.device
        images, targets, weights, y, z, lab = [], [], [], [], [], []
        for stream in (HUMAN, ANIMAL, TARGET):
            if stream not in batches:
                continue
            b, pw = batches[stream]
            n = b["image"].shape[0]
            images.append(b["image"])
            targets.append(b["target"])
            weights.append(b["target_weight"])
            yy, zz = DOMAIN[stream]
            y.append(torch.full((n,), yy))
            z.append(torch.full((n,), zz))
            has = (b["target_weight"].flatten(1).sum(1) > 0).float()
            lab.append(has * pw)
        x = torch.cat(images).to(dev, non_blocking=True)
        target = torch.cat(targets).to(dev, non_blocking=True)
        weight = torch.cat(weights).to(dev, non_blocking=True)
        y, z, lab = torch.cat(y).to(dev), torch.cat(z).to(dev), torch.cat(lab).to(dev)
        out = self.net(x)
        per_img = per_image_mse(out, target, weight if self.cfg.loss.use_target_weight else None)
        lp = pose_loss(per_img, y, w.w2, lab, w.reduction)
        losses = {"pose": lp["total"], "pose_animal": lp["animal"], "pose_human": lp["human"]}
        total = w.beta * lp["total"]
        extractor = total
        if self.disc is not None:
            g = grl_coefficient(w.grl_schedule, progress)
            logits = self.disc_net(grad_reverse(self.tap.pop(), g))
            ld = ddl_loss(logits[:, 0], logits[:, 1], y, z, w.w1, w.reduction)
            total = total + abs(w.alpha) * ld["total"]
            extractor = extractor + w.alpha * g * ld["total"]
            with torch.no_grad():
                acc_y = ((logits[:, 0] > 0).float() == y).float().mean()
                animals = y > 0
                acc_z = ((logits[animals, 1] > 0).float() == z[animals]).float().mean() if animals.any() \
                    else torch.tensor(float("nan"))
            losses.update({"disc": ld["total"], "ddl_y": ld["y"], "ddl_z": ld["z"], "acc_y": acc_y, "acc_z": acc_z,
                           "grl": torch.tensor(g)})
        elif self.tap is not None:
            self.tap.pop()
        losses["extractor"] = extractor
        losses["total"] = total
        return losses

    # ----------------------------------------------------------------- loop hooks
    def epoch_batches(self, epoch: int):
        """One ``{stream: (batch, pose weight)}`` per step; PPLO labels the target set here (eval mode)."""
        streams = self._streams(epoch)

        def steps_of_streams():
            while True:
                yield {s: (next(it), pw) for s, (it, pw) in streams.items()}
        return steps_of_streams(), self.steps_per_epoch()

    def train_modules(self):
        return [self.net] + ([self.disc] if self.disc is not None else [])

    def training_step(self, batch, epoch: int, step: int, steps: int):
        progress = (epoch * steps + step) / max(1, self.cfg.train.epochs * steps)
        return self.compute_losses(batch, progress)

    def step_message(self, sums, n: int) -> str:
        msg = f"pose {sums['pose'] / n:.3g}"
        if "disc" in sums:
            msg += f" D {sums['disc'] / n:.3g}"
        return msg

    def bar_label(self, epoch: int) -> str:
        return f"{self.log_name} {epoch + 1}/{self.cfg.train.epochs}"

    def end_epoch(self, epoch: int, means) -> float:
        """Per-epoch loss means to ``OUT/losses.json`` and the log; the epoch loss is the extractor's."""
        means = {k: v for k, v in means.items() if k != "total"}
        self.loss_log.append({"epoch": epoch + 1, **{k: round(v, 6) for k, v in means.items()}})
        if self.dist.is_main:
            atomic_write_text(self._loss_log_path, json.dumps(self.loss_log, indent=1))
        parts = [f"pose {means['pose']:.4g}"]
        if "disc" in means:
            parts += [f"discriminator L_DDL {means['disc']:.4g} (acc y {100 * means['acc_y']:.0f}%, "
                      f"z {100 * means['acc_z']:.0f}%)", f"extractor {means['extractor']:.4g}"]
        self.log(f"{self.log_name} epoch {epoch + 1}: " + ", ".join(parts))
        return means["extractor"]
