"""Stacked hourglass network in the bearpaw/pytorch-pose layout (the CC-SSL network).

Architecture (Newell et al. 2016 as implemented in bearpaw's ``hourglass.py``, which CC-SSL uses):

* pre-activation bottleneck (BN-ReLU-conv1x1, BN-ReLU-conv3x3, BN-ReLU-conv1x1), expansion 2,
  **every conv with a bias**, shortcut = bare 1x1 conv (with bias, no BN) when the width changes;
* stem: ``conv1`` 7x7/2 (3->64) + ``bn1`` + ReLU, ``layer1`` residual 64->128, max-pool 2,
  ``layer2`` residual 128->256, ``layer3`` residual 256->2f (f = ``features`` = bearpaw's
  ``num_feats``; with the default 128 the residual width is 256 and ``layer3`` has no shortcut conv);
* per stack ``i``: ``hg.i`` (hourglass of depth 4, nearest-neighbour upsampling), ``res.i``
  (``blocks`` residuals), ``fc.i`` (conv1x1 -> BN -> ReLU), ``score.i`` (conv1x1 -> K heatmaps) and,
  for every stack but the last, ``fc_.i`` / ``score_.i`` (conv1x1) feeding ``x + fc_(y) + score_(s)``
  to the next stack.

Inside an hourglass, ``hg.L`` holds the residual sequences of level ``L``; level 0 is the
*lowest-resolution* level and holds a 4th sequence (the bottom of the hourglass).  Per level:
``[0]`` skip branch at the current resolution, ``[1]`` after max-pool, ``[2]`` after the inner
hourglass (before upsampling), ``[3]`` (level 0 only) the innermost residual.

The attribute names reproduce the official state_dict keys exactly (``conv1.weight``,
``layer1.0.downsample.0.bias``, ``hg.0.hg.3.1.0.bn2.running_var``, ``fc.0.0.weight``,
``score_.2.bias`` ...), so bearpaw / CC-SSL ``model_best.pth.tar`` files load strictly with
:func:`animalpose.models.load_checkpoint` (which strips their ``module.`` prefix).  Weight init is
PyTorch's default, as in bearpaw.

``forward`` returns the list of per-stack heatmaps, each ``(N, K, H/4, W/4)``; training sums the
loss over the stacks and evaluation reads the last one.
"""
from __future__ import annotations

from typing import List

import torch
import torch.nn as nn
import torch.nn.functional as F

from .registry import register_model

__all__ = ["PreActBottleneck", "Hourglass", "HourglassNet"]


class PreActBottleneck(nn.Module):
    """Pre-activation bottleneck, output width ``2 * planes``; all convs have a bias."""

    expansion = 2

    def __init__(self, inplanes: int, planes: int, stride: int = 1):
        super().__init__()
        out = planes * self.expansion
        self.bn1 = nn.BatchNorm2d(inplanes)
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=True)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=True)
        self.bn3 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out, 1, bias=True)
        self.relu = nn.ReLU(inplace=True)
        # Shortcut on the raw input: a bare 1x1 conv (with bias), registered only when needed so the
        # state_dict has ``downsample.0.*`` exactly where the official one does.
        self.downsample = (nn.Sequential(nn.Conv2d(inplanes, out, 1, stride=stride, bias=True))
                           if stride != 1 or inplanes != out else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv1(self.relu(self.bn1(x)))
        y = self.conv2(self.relu(self.bn2(y)))
        y = self.conv3(self.relu(self.bn3(y)))
        return y + (x if self.downsample is None else self.downsample(x))


def _residuals(inplanes: int, planes: int, blocks: int) -> nn.Sequential:
    """``blocks`` bottlenecks; the first maps ``inplanes`` to ``2 * planes``."""
    layers = [PreActBottleneck(inplanes, planes)]
    layers += [PreActBottleneck(planes * PreActBottleneck.expansion, planes) for _ in range(1, blocks)]
    return nn.Sequential(*layers)


class Hourglass(nn.Module):
    """One hourglass of ``depth`` levels at constant width ``2 * planes``."""

    def __init__(self, blocks: int, planes: int, depth: int = 4):
        super().__init__()
        self.depth = depth
        width = planes * PreActBottleneck.expansion
        self.hg = nn.ModuleList(
            nn.ModuleList(_residuals(width, planes, blocks) for _ in range(4 if level == 0 else 3))
            for level in range(depth))

    def _level(self, level: int, x: torch.Tensor) -> torch.Tensor:
        branches = self.hg[level]
        skip = branches[0](x)
        low = branches[1](F.max_pool2d(x, 2, stride=2))
        low = self._level(level - 1, low) if level > 0 else branches[3](low)
        low = branches[2](low)
        # Nearest upsampling back to the skip branch's size: identical to ``scale_factor=2`` when the
        # sizes divide evenly, and still well defined for odd sizes (e.g. 128x96 inputs).
        return skip + F.interpolate(low, size=skip.shape[-2:], mode="nearest")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._level(self.depth - 1, x)


class HourglassNet(nn.Module):
    """Stacked hourglass (bearpaw layout); ``forward`` returns a list of ``stacks`` heatmaps."""

    def __init__(self, num_joints: int, stacks: int = 4, blocks: int = 1, features: int = 128,
                 depth: int = 4):
        super().__init__()
        if stacks < 1 or blocks < 1 or features < 1 or depth < 1:
            raise ValueError(f"hourglass: stacks, blocks, features and depth must be >= 1, got "
                             f"stacks={stacks} blocks={blocks} features={features} depth={depth}")
        self.num_joints, self.stacks = num_joints, stacks
        exp = PreActBottleneck.expansion
        width = features * exp
        stem = 64
        self.conv1 = nn.Conv2d(3, stem, 7, stride=2, padding=3, bias=True)
        self.bn1 = nn.BatchNorm2d(stem)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = _residuals(stem, stem, 1)                      # 64 -> 128
        self.maxpool = nn.MaxPool2d(2, stride=2)
        self.layer2 = _residuals(stem * exp, stem * exp, 1)         # 128 -> 256
        self.layer3 = _residuals(stem * exp * exp, features, 1)     # 256 -> 2 * features
        self.hg = nn.ModuleList(Hourglass(blocks, features, depth) for _ in range(stacks))
        self.res = nn.ModuleList(_residuals(width, features, blocks) for _ in range(stacks))
        self.fc = nn.ModuleList(
            nn.Sequential(nn.Conv2d(width, width, 1, bias=True), nn.BatchNorm2d(width), nn.ReLU(inplace=True))
            for _ in range(stacks))
        self.score = nn.ModuleList(nn.Conv2d(width, num_joints, 1, bias=True) for _ in range(stacks))
        self.fc_ = nn.ModuleList(nn.Conv2d(width, width, 1, bias=True) for _ in range(stacks - 1))
        self.score_ = nn.ModuleList(nn.Conv2d(num_joints, width, 1, bias=True) for _ in range(stacks - 1))

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.maxpool(self.layer1(x))))
        out = []
        for i in range(self.stacks):
            y = self.fc[i](self.res[i](self.hg[i](x)))
            score = self.score[i](y)
            out.append(score)
            if i < self.stacks - 1:
                x = x + self.fc_[i](y) + self.score_[i](score)
        return out


@register_model("hourglass")
def hourglass(num_joints: int, stacks: int = 4, blocks: int = 1, features: int = 128) -> HourglassNet:
    """bearpaw/CC-SSL stacked hourglass; ``features`` = num_feats (residual width ``2 * features``).

    CC-SSL: ``stacks=4, blocks=1`` with 18 TigDog joints (13,022,408 params); bearpaw MPII:
    ``stacks=2`` or ``8`` with 16 joints.  Input 256x256 -> heatmaps 64x64.
    """
    return HourglassNet(num_joints, stacks=stacks, blocks=blocks, features=features)
