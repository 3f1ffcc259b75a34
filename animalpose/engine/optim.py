"""Optimisers and learning-rate schedules of the reference recipes.

* bearpaw / CC-SSL: RMSprop lr 2.5e-4, momentum 0, weight decay 0, lr x0.1 at
  the milestones (60/90 for pre-training; none for CC-SSL's joint training).
* HRNet / SimpleBaseline / DARK / UDP: Adam lr 1e-3 **without** weight decay
  (the reference passes none to Adam), lr x0.1 at epochs 170 and 200.
* DEKR: Adam 1e-3, steps 90/120.
* mmpose 1.x animal recipes: Adam 5e-4, x0.1 at 170 and 200, with a linear
  warm-up over the first 500 iterations from 0.001 x lr (``LinearLR``,
  ``by_epoch=False``): :func:`warmup_factor`.
"""
from __future__ import annotations

import torch

from .config import OptimConfig


def build_optimizer(params, cfg: OptimConfig) -> torch.optim.Optimizer:
    if cfg.name == "rmsprop":
        return torch.optim.RMSprop(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    if cfg.name == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, betas=tuple(cfg.betas), weight_decay=cfg.weight_decay)
    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)


def build_scheduler(optimizer: torch.optim.Optimizer, cfg: OptimConfig):
    """Per-epoch ``MultiStepLR`` (``scheduler.step()`` once at the end of each epoch)."""
    return torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=list(cfg.milestones), gamma=cfg.gamma)


def warmup_factor(iteration: int, cfg: OptimConfig) -> float:
    """Learning-rate factor of global ``iteration`` (0-based) under the linear warm-up:
    ``f + (1 - f) * iteration / warmup_iters`` before ``warmup_iters``, then 1 (mmpose's
    ``LinearLR(start_factor=f, end=warmup_iters, by_epoch=False)``)."""
    if cfg.warmup_iters <= 0 or iteration >= cfg.warmup_iters:
        return 1.0
    f = cfg.warmup_factor
    return f + (1.0 - f) * iteration / cfg.warmup_iters
