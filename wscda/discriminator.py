"""Domain discriminator of WS-CDA and the feature tap that feeds it.

The discriminator sees the feature maps of the shared extractor and predicts
two logits per image: ``y`` (human 0 vs animal 1) and ``z`` (target species 1
vs not 0).  :class:`FeatureTap` splits any registered pose network into
"feature extractor" (everything up to a named module) and "keypoint
estimator" (the rest) without touching the model class: a forward hook keeps
the module's output (or input) of the latest forward pass.
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch
import torch.nn as nn


def default_feature_layer(model_name: str, options: Optional[dict] = None) -> str:
    """Where the extractor ends for a registered model family.

    * ``hourglass``: the features of the last stack before its final 1x1 score conv (``fc.{S-1}``);
    * ``simplebaseline_*``: the ResNet backbone output (``layer4``; the deconv head is the estimator);
    * ``hrnet_*``: the input of ``final_layer`` (the high-resolution branch).
    """
    options = options or {}
    if model_name == "hourglass":
        return f"fc.{int(options.get('stacks', 4)) - 1}"
    if model_name.startswith("simplebaseline"):
        return "layer4"
    if model_name.startswith("hrnet"):
        return "final_layer:input"
    raise ValueError(f"no default WS-CDA feature layer for model {model_name!r}; set wscda.feature_layer "
                     "to a module name (optionally with ':input')")


class FeatureTap:
    """Keep the output (``name``) or the input (``name:input``) of a submodule at every forward.

    ``tap.features`` is the tensor of the latest forward (first element of a list/tuple).
    """

    def __init__(self, model: nn.Module, spec: str):
        name, _, where = spec.partition(":")
        modules = dict(model.named_modules())
        if name not in modules:
            raise ValueError(f"wscda.feature_layer: model has no module {name!r} "
                             f"(e.g. {', '.join(list(modules)[1:6])} ...)")
        if where not in ("", "output", "input"):
            raise ValueError(f"wscda.feature_layer: {spec!r} must be NAME, NAME:output or NAME:input")
        self.spec, self.module = spec, modules[name]
        self.features: Optional[torch.Tensor] = None
        if where == "input":
            self.handle = self.module.register_forward_pre_hook(lambda m, inp: self._keep(inp))
        else:
            self.handle = self.module.register_forward_hook(lambda m, inp, out: self._keep(out))

    def _keep(self, value):
        while isinstance(value, (list, tuple)):
            value = value[0]
        self.features = value

    def pop(self) -> torch.Tensor:
        if self.features is None:
            raise RuntimeError(f"feature tap {self.spec!r} saw no forward pass")
        f, self.features = self.features, None
        return f

    def remove(self) -> None:
        self.handle.remove()


class DomainDiscriminator(nn.Module):
    """Conv (3x3, stride 2) + BN + LeakyReLU blocks, global average pool, linear -> 2 logits ``(y, z)``.

    ``forward(features (N, C, H, W))`` returns ``(N, 2)`` logits: column 0 human-vs-animal,
    column 1 target-vs-not.
    """

    def __init__(self, in_channels: int, channels: int = 64, layers: int = 2):
        super().__init__()
        if layers < 0 or channels < 1:
            raise ValueError(f"discriminator: layers >= 0 and channels >= 1, got {layers}, {channels}")
        blocks, c = [], in_channels
        for _ in range(layers):
            blocks += [nn.Conv2d(c, channels, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(channels),
                       nn.LeakyReLU(0.2, inplace=True)]
            c = channels
        self.body = nn.Sequential(*blocks)
        self.head = nn.Linear(c, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x).mean(dim=(2, 3)))


def feature_channels(model: nn.Module, tap: FeatureTap, input_size: Tuple[int, int]) -> int:
    """Channels of the tapped features (one dummy forward of a 2-image batch in eval mode)."""
    was = model.training
    model.eval()
    p = next(model.parameters())
    with torch.no_grad():
        model(torch.zeros(2, 3, input_size[1], input_size[0], device=p.device, dtype=p.dtype))
    model.train(was)
    f = tap.pop()
    if f.dim() != 4:
        raise ValueError(f"wscda.feature_layer {tap.spec!r} gives a {f.dim()}-D tensor, need (N, C, H, W)")
    return int(f.shape[1])
