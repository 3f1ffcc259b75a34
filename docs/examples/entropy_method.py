"""A new adaptation method in one file: source loss + gamma * entropy of the target predictions.

Entropy minimisation is the simplest unsupervised-adaptation baseline. Each target heatmap is
softmax-normalised over its pixels, and its entropy is pushed down, so the model commits to one
location on target images while it keeps fitting the labelled source.

To add it to the kit, copy this file into a package (e.g. ``mymethods/entropy.py``) and add
``"mymethods.entropy"`` to ``animalpose.commands.adapt.METHOD_MODULES``. Then::

    animalpose adapt --method entropy --config CONFIG --source SOURCE.pt \
        --set method.target_data.root=DATA --set method.gamma=0.01

The config's ``method:`` section is read into :class:`EntropyConfig`. Everything else comes from
the engine: resume, checkpoints, logging, DDP, the non-finite checks and validation.
``tests/test_methods.py`` registers this file and trains it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from animalpose.engine.config import AugmentConfig, DataConfig
from animalpose.engine.data import TopDownDataset, build_source
from animalpose.engine.evaluator import heatmaps_of
from animalpose.engine.methods import AdaptMethod, method_section, register_method
from animalpose.engine.trainer import Trainer
from animalpose.models import load_checkpoint


@dataclass
class EntropyConfig:
    target_data: DataConfig = field(default_factory=DataConfig)   # unlabelled target images (labels unused)
    gamma: float = 0.01                                           # weight of the entropy term


def heatmap_entropy(heatmaps: torch.Tensor) -> torch.Tensor:
    """Mean entropy of the pixel softmax of each map: ``(N, K, H, W)`` -> scalar."""
    logp = torch.log_softmax(heatmaps.float().flatten(2), dim=-1)
    return -(logp.exp() * logp).sum(-1).mean()


class EntropyTrainer(Trainer):
    def __init__(self, cfg, out_dir, source_checkpoint=None, **kw):
        super().__init__(cfg, out_dir, **kw)
        if source_checkpoint and not kw.get("resume"):
            load_checkpoint(self.model, source_checkpoint)

    def setup_method(self) -> None:
        self.method_cfg = method_section(self.cfg, EntropyConfig, "entropy")
        target = build_source(self.method_cfg.target_data)
        self.target_set = TopDownDataset(target, self.spec, self.codec, AugmentConfig(recipe="none"),
                                         self.normalize, seed=self.cfg.train.seed + 1)

    def epoch_batches(self, epoch: int):
        source = self._train_loader(epoch)
        target = self.epoch_loader(self.target_set, epoch, stream=1)
        return zip(source, target), min(len(source), len(target))

    def training_step(self, batch, epoch, step, steps):
        src, trg = batch
        loss_src = self.loss_fn(self.net(src["image"].to(self.device)), src["target"].to(self.device),
                                src["target_weight"].to(self.device))
        entropy = heatmap_entropy(heatmaps_of(self.net(trg["image"].to(self.device))))
        return {"total": loss_src + self.method_cfg.gamma * entropy, "loss_source": loss_src, "entropy": entropy}


@register_method
class EntropyMethod(AdaptMethod):
    name = "entropy"
    help = "source loss + gamma * entropy of the target heatmaps (a one-file example method)"
    source = "required"

    def make_trainer(self, cfg, args):
        return EntropyTrainer(cfg, args.out, source_checkpoint=args.source, resume=args.resume, quiet=args.quiet,
                              overwrite=args.overwrite)
