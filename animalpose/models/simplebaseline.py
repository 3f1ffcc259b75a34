"""SimpleBaseline (Xiao et al. 2018): ResNet backbone + 3 deconvolutions + 1x1 heatmap conv.

Layout of microsoft/human-pose-estimation.pytorch ``pose_resnet.py`` (and of the HRNet repo's copy):

* backbone: torchvision's ResNet-50/101/152 (bottleneck with the stride on the 3x3, "v1.5") —
  ``conv1`` 7x7/2, ``bn1``, ReLU, ``maxpool`` 3/2, ``layer1``..``layer4``; the classifier is dropped;
* ``deconv_layers``: 3 x [ConvTranspose2d(k=4, s=2, p=1, output_padding=0, bias=False), BN, ReLU]
  with 256 filters — output stride 4 (256x192 input -> 64x48 heatmaps);
* ``final_layer``: Conv2d 1x1 256 -> K with bias.

The backbone modules are direct attributes, so the state_dict keys are exactly the official ones
(``conv1.weight``, ``layer1.0.downsample.1.running_mean``, ``deconv_layers.0.weight``,
``final_layer.bias`` ...) and the released ``pose_resnet_*`` files load strictly.

Initialisation follows the reference ``init_weights``: deconv and final conv weights ~ N(0, 0.001),
final bias 0, BN weight 1 / bias 0.  The backbone keeps torchvision's constructor init (kaiming-normal
fan-out convs, BN 1/0) — the reference never trains the backbone from scratch; pass
``pretrained_backbone=PATH`` to load an ImageNet ResNet state_dict (torchvision layout, e.g.
``resnet50-0676ba61.pth``; the ``fc.*`` classifier keys are ignored, everything else must match).
Nothing is ever downloaded.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
import torchvision

from .checkpoint import load_checkpoint
from .registry import register_model

__all__ = ["SimpleBaseline", "RESNET_DEPTHS"]

RESNET_DEPTHS = {50: torchvision.models.resnet50, 101: torchvision.models.resnet101,
                 152: torchvision.models.resnet152}
_BACKBONE = ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4")


class _BackboneView(nn.Module):
    """The backbone modules of a :class:`SimpleBaseline` (shared, not copied), for loading."""

    def __init__(self, model: nn.Module):
        super().__init__()
        for name in _BACKBONE:
            setattr(self, name, getattr(model, name))


class SimpleBaseline(nn.Module):
    """ResNet-``depth`` + deconv head; ``forward(x)`` returns ``(N, K, H/4, W/4)`` heatmaps."""

    def __init__(self, num_joints: int, depth: int = 50, num_deconv: int = 3, deconv_filters: int = 256,
                 deconv_kernel: int = 4, pretrained_backbone: Optional[str] = None):
        super().__init__()
        if depth not in RESNET_DEPTHS:
            raise ValueError(f"simplebaseline: ResNet depth must be one of {sorted(RESNET_DEPTHS)}, got {depth}")
        pad, out_pad = {4: (1, 0), 3: (1, 1), 2: (0, 0)}.get(deconv_kernel, (None, None))
        if pad is None:
            raise ValueError(f"simplebaseline: deconv kernel must be 2, 3 or 4, got {deconv_kernel}")
        self.num_joints, self.depth = num_joints, depth
        resnet = RESNET_DEPTHS[depth](weights=None)
        for name in _BACKBONE:
            setattr(self, name, getattr(resnet, name))
        layers, cin = [], resnet.fc.in_features  # 2048
        for _ in range(num_deconv):
            layers += [nn.ConvTranspose2d(cin, deconv_filters, deconv_kernel, stride=2, padding=pad,
                                          output_padding=out_pad, bias=False),
                       nn.BatchNorm2d(deconv_filters), nn.ReLU(inplace=True)]
            cin = deconv_filters
        self.deconv_layers = nn.Sequential(*layers)
        self.final_layer = nn.Conv2d(cin, num_joints, 1, bias=True)
        self._init_head()
        if pretrained_backbone:
            self.load_backbone(pretrained_backbone)

    def _init_head(self) -> None:
        for m in self.deconv_layers.modules():
            if isinstance(m, nn.ConvTranspose2d):
                nn.init.normal_(m.weight, std=0.001)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        nn.init.normal_(self.final_layer.weight, std=0.001)
        nn.init.zeros_(self.final_layer.bias)

    def load_backbone(self, path_or_state) -> "SimpleBaseline":
        """Load an ImageNet ResNet state_dict (torchvision keys; ``fc.*`` ignored) strictly into the backbone."""
        load_checkpoint(_BackboneView(self), path_or_state, strict=True, ignore_prefixes=("fc.",))
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.final_layer(self.deconv_layers(x))


def _variant(depth: int):
    def build(num_joints: int, pretrained_backbone: Optional[str] = None, **options) -> SimpleBaseline:
        return SimpleBaseline(num_joints, depth=depth, pretrained_backbone=pretrained_backbone, **options)
    build.__name__ = f"simplebaseline_res{depth}"
    build.__doc__ = (f"SimpleBaseline ResNet-{depth} + 3x256 deconvs (COCO 256x192 -> 64x48 heatmaps); "
                     f"``pretrained_backbone``: path to an ImageNet ResNet-{depth} state_dict.")
    return build


for _depth in (50, 101, 152):
    register_model(f"simplebaseline_res{_depth}")(_variant(_depth))
