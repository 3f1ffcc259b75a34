"""HRNet (Sun et al., CVPR 2019) for top-down pose estimation.

The module provides the HRNet building blocks and a reusable backbone:

* :class:`BasicBlock` (expansion 1) and :class:`Bottleneck` (expansion 4);
* :class:`HighResolutionModule`: parallel branches followed by SUM fusion.
  A lower-resolution input ``j > i`` reaches branch ``i`` through a 1x1 conv
  and BN, then a nearest upsampling by ``2**(j-i)``. A higher-resolution input
  ``j < i`` goes through ``i-j`` strided 3x3 conv+BN units, with a ReLU after
  every unit except the last;
* :class:`HRNetBackbone`: the stem (two 3x3 stride-2 convs, 64 channels),
  ``layer1`` (4 Bottlenecks, 64 -> 256) and the stages described by an
  :class:`HRNetSpec`. Its ``forward`` returns the list of branch outputs.
  DEKR (:mod:`animalpose.models.dekr`) reuses it with all branches output;
* :class:`PoseHighResolutionNet`: the backbone plus ``final_layer`` (a 1x1 conv
  C -> K) on the highest-resolution branch. It outputs heatmaps at 1/4 of the
  input size.

State_dict keys and shapes equal those of the official checkpoints
(leoxiaobin/deep-high-resolution-net.pytorch, ``pose_hrnet_w{32,48}_*.pth``).
With 17 joints the parameter counts are 28,536,113 (W32) and 63,595,745 (W48).
The backbone modules sit at the top level of the model (``conv1``,
``stage4.2.fuse_layers...``) rather than under a ``backbone.`` prefix, so that
official checkpoints load with ``strict=True``.

Registered variants: ``hrnet_w32`` and ``hrnet_w48``.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from .checkpoint import read_checkpoint
from .registry import register_model

__all__ = [
    "BN_MOMENTUM", "BasicBlock", "Bottleneck", "BLOCKS", "StageSpec", "HRNetSpec", "hrnet_spec",
    "HighResolutionModule", "HRNetBackbone", "PoseHighResolutionNet", "HRNET_PRETRAINED_LAYERS",
    "load_pretrained_backbone", "hrnet_w32", "hrnet_w48", "hrnet_lite",
]

logger = logging.getLogger(__name__)

BN_MOMENTUM = 0.1

# The top-level module names that the official code initialises from an
# ImageNet HRNet checkpoint (MODEL.EXTRA.PRETRAINED_LAYERS).
HRNET_PRETRAINED_LAYERS = ("conv1", "bn1", "conv2", "bn2", "layer1", "transition1", "stage2",
                           "transition2", "stage3", "transition3", "stage4")


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, momentum=BN_MOMENTUM)


def _conv3x3(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=dilation, dilation=dilation, bias=False)


# --------------------------------------------------------------------------
# Residual blocks
# --------------------------------------------------------------------------
class BasicBlock(nn.Module):
    """Two 3x3 conv+BN layers with a residual connection (expansion 1).

    DEKR builds ``conv2`` as ``Conv2d(inplanes, planes)``, not
    ``Conv2d(planes, planes)``. Every DEKR use has ``inplanes == planes`` and
    stride 1, so the two give the same layer. This class uses ``planes``.
    """

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: Optional[nn.Module] = None, dilation: int = 1):
        super().__init__()
        self.conv1 = _conv3x3(inplanes, planes, stride, dilation)
        self.bn1 = _bn(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(planes, planes, 1, dilation)
        self.bn2 = _bn(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + residual)


class Bottleneck(nn.Module):
    """1x1 -> 3x3 -> 1x1 conv+BN with a residual connection (expansion 4)."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: Optional[nn.Module] = None, dilation: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = _bn(planes)
        self.conv2 = _conv3x3(planes, planes, stride, dilation)
        self.bn2 = _bn(planes)
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, 1, bias=False)
        self.bn3 = _bn(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + residual)


BLOCKS = {"BASIC": BasicBlock, "BOTTLENECK": Bottleneck}


def make_res_layer(block, inplanes: int, planes: int, num_blocks: int, stride: int = 1,
                   dilation: int = 1) -> nn.Sequential:
    """``num_blocks`` blocks in a row. Block 0 gets a 1x1 conv+BN ``downsample`` when the shape changes."""
    downsample = None
    if stride != 1 or inplanes != planes * block.expansion:
        downsample = nn.Sequential(
            nn.Conv2d(inplanes, planes * block.expansion, 1, stride=stride, bias=False),
            _bn(planes * block.expansion),
        )
    layers = [block(inplanes, planes, stride, downsample, dilation=dilation)]
    inplanes = planes * block.expansion
    layers += [block(inplanes, planes, dilation=dilation) for _ in range(1, num_blocks)]
    return nn.Sequential(*layers)


# --------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class StageSpec:
    """One HRNet stage: ``num_modules`` HighResolutionModules with ``len(num_channels)`` branches."""

    num_modules: int
    num_blocks: Tuple[int, ...]
    num_channels: Tuple[int, ...]
    block: str = "BASIC"
    fuse_method: str = "SUM"

    def __post_init__(self):
        if len(self.num_blocks) != len(self.num_channels):
            raise ValueError(f"StageSpec: {len(self.num_blocks)} block counts for "
                             f"{len(self.num_channels)} branches")
        if self.block not in BLOCKS:
            raise ValueError(f"StageSpec: unknown block {self.block!r}; choose from {sorted(BLOCKS)}")
        if self.fuse_method != "SUM":
            raise ValueError(f"StageSpec: only fuse_method 'SUM' exists, got {self.fuse_method!r}")

    @property
    def num_branches(self) -> int:
        return len(self.num_channels)


@dataclass(frozen=True)
class HRNetSpec:
    """Stages 2, 3, 4, ... after the stem and ``layer1``.

    ``multi_scale_output=False`` makes the last module of the last stage fuse
    into branch 0 only (top-down HRNet). DEKR uses ``True``, which keeps all
    branches.
    """

    stages: Tuple[StageSpec, ...]
    multi_scale_output: bool = False
    layer1_blocks: int = 4                # Bottlenecks in ``layer1`` (4 in every published model)
    stem_channels: int = 64               # stem / ``layer1`` planes (64 in every published model)

    @classmethod
    def from_dict(cls, d: Mapping) -> "HRNetSpec":
        """Build from ``{"stages": [{"num_modules":..., "num_blocks":[...], ...}, ...], ...}``."""
        stages = tuple(s if isinstance(s, StageSpec) else
                       StageSpec(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in s.items()})
                       for s in d["stages"])
        return cls(stages=stages, multi_scale_output=bool(d.get("multi_scale_output", False)),
                   layer1_blocks=int(d.get("layer1_blocks", 4)), stem_channels=int(d.get("stem_channels", 64)))


def hrnet_spec(width: int, multi_scale_output: bool = False, num_blocks: int = 4,
               num_modules: Sequence[int] = (1, 4, 3), layer1_blocks: int = 4,
               stem_channels: int = 64) -> HRNetSpec:
    """The published HRNet-W``width`` configuration (W32, W48) with the defaults.

    Stage 2 has 1 module, stage 3 has 4 and stage 4 has 3. Each branch has
    4 BasicBlocks. Branch channels are ``width * (1, 2, 4, 8)``.
    ``num_blocks`` / ``num_modules`` / ``layer1_blocks`` / ``stem_channels`` shrink the network
    (the small ``hrnet_lite`` / ``dekr_lite`` variants trained on a CPU).
    """
    c = [width * 2 ** i for i in range(4)]
    m = tuple(int(v) for v in num_modules)
    if len(m) != 3 or min(m) < 1 or num_blocks < 1 or layer1_blocks < 1:
        raise ValueError(f"hrnet_spec: need 3 module counts >= 1 and block counts >= 1, got "
                         f"num_modules={num_modules}, num_blocks={num_blocks}, layer1_blocks={layer1_blocks}")
    b = int(num_blocks)
    return HRNetSpec(stages=(
        StageSpec(m[0], (b,) * 2, tuple(c[:2])),
        StageSpec(m[1], (b,) * 3, tuple(c[:3])),
        StageSpec(m[2], (b,) * 4, tuple(c[:4])),
    ), multi_scale_output=multi_scale_output, layer1_blocks=int(layer1_blocks), stem_channels=int(stem_channels))


# --------------------------------------------------------------------------
# High-resolution module
# --------------------------------------------------------------------------
class HighResolutionModule(nn.Module):
    """Parallel multi-resolution branches followed by SUM fusion.

    Keys: ``branches.b.k.*`` and ``fuse_layers.i.j.*``. The ``i == j`` entry of
    ``fuse_layers`` is ``None`` and has no keys.
    """

    def __init__(self, num_branches: int, block, num_blocks: Sequence[int],
                 num_inchannels: Sequence[int], num_channels: Sequence[int],
                 multi_scale_output: bool = True):
        super().__init__()
        if not (len(num_blocks) == len(num_inchannels) == len(num_channels) == num_branches):
            raise ValueError(
                f"HighResolutionModule: {num_branches} branches but {len(num_blocks)} block counts, "
                f"{len(num_inchannels)} input and {len(num_channels)} output channel counts")
        self.num_branches = num_branches
        self.num_inchannels = list(num_inchannels)
        self.multi_scale_output = multi_scale_output

        branches = []
        for b in range(num_branches):
            branches.append(make_res_layer(block, self.num_inchannels[b], num_channels[b], num_blocks[b]))
            self.num_inchannels[b] = num_channels[b] * block.expansion
        self.branches = nn.ModuleList(branches)
        self.fuse_layers = self._make_fuse_layers()
        self.relu = nn.ReLU(inplace=True)

    def _make_fuse_layers(self) -> Optional[nn.ModuleList]:
        if self.num_branches == 1:
            return None
        ch = self.num_inchannels
        rows = []
        for i in range(self.num_branches if self.multi_scale_output else 1):
            row = []
            for j in range(self.num_branches):
                if j > i:       # lower resolution: 1x1 conv + BN, upsampled in forward
                    row.append(nn.Sequential(nn.Conv2d(ch[j], ch[i], 1, bias=False), _bn(ch[i])))
                elif j == i:
                    row.append(None)
                else:           # higher resolution: i-j strided 3x3 conv units
                    units = []
                    for k in range(i - j):
                        last = k == i - j - 1
                        cout = ch[i] if last else ch[j]
                        unit = [_conv3x3(ch[j], cout, stride=2), _bn(cout)]
                        if not last:
                            unit.append(nn.ReLU(inplace=True))
                        units.append(nn.Sequential(*unit))
                    row.append(nn.Sequential(*units))
            rows.append(nn.ModuleList(row))
        return nn.ModuleList(rows)

    def get_num_inchannels(self) -> List[int]:
        return list(self.num_inchannels)

    def forward(self, x: List[torch.Tensor]) -> List[torch.Tensor]:
        x = [branch(xi) for branch, xi in zip(self.branches, x)]
        if self.fuse_layers is None:
            return x
        out = []
        for i, row in enumerate(self.fuse_layers):
            size = x[i].shape[-2:]
            y = x[i]
            for j, layer in enumerate(row):
                if j == i:
                    continue
                z = layer(x[j])
                if j > i:
                    # nearest upsampling by 2**(j-i) (to the exact size, so that
                    # inputs that are not multiples of 32 also work)
                    z = F.interpolate(z, size=size, mode="nearest")
                y = y + z
            out.append(self.relu(y))
        return out


# --------------------------------------------------------------------------
# Backbone
# --------------------------------------------------------------------------
class HRNetBackbone(nn.Module):
    """Stem + ``layer1`` + ``transition{k}``/``stage{k+1}`` for every stage of ``spec``.

    ``forward(x)`` returns the branch outputs of the last stage. With
    ``spec.multi_scale_output`` false this is one tensor at 1/4 resolution;
    otherwise it is one tensor per branch, at 1/4, 1/8, ... resolution.
    Subclasses add heads. The backbone's modules are top-level attributes,
    so key names match the official checkpoints.
    """

    def __init__(self, spec: Union[HRNetSpec, Mapping]):
        super().__init__()
        if not isinstance(spec, HRNetSpec):
            spec = HRNetSpec.from_dict(spec)
        self.spec = spec
        c = spec.stem_channels
        self.conv1 = nn.Conv2d(3, c, 3, stride=2, padding=1, bias=False)
        self.bn1 = _bn(c)
        self.conv2 = nn.Conv2d(c, c, 3, stride=2, padding=1, bias=False)
        self.bn2 = _bn(c)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = make_res_layer(Bottleneck, c, c, spec.layer1_blocks)

        pre = [c * Bottleneck.expansion]
        n = len(spec.stages)
        for s, st in enumerate(spec.stages):
            block = BLOCKS[st.block]
            cur = [c * block.expansion for c in st.num_channels]
            setattr(self, f"transition{s + 1}", self._make_transition(pre, cur))
            modules = []
            inch = list(cur)
            for m in range(st.num_modules):
                multi = spec.multi_scale_output or s < n - 1 or m < st.num_modules - 1
                mod = HighResolutionModule(st.num_branches, block, st.num_blocks, inch,
                                           st.num_channels, multi_scale_output=multi)
                inch = mod.get_num_inchannels()
                modules.append(mod)
            setattr(self, f"stage{s + 2}", nn.Sequential(*modules))
            pre = inch
        self.out_channels: List[int] = pre if spec.multi_scale_output else pre[:1]

    @staticmethod
    def _make_transition(pre: Sequence[int], cur: Sequence[int]) -> nn.ModuleList:
        layers = []
        for i, c in enumerate(cur):
            if i < len(pre):
                if c != pre[i]:
                    layers.append(nn.Sequential(_conv3x3(pre[i], c), nn.BatchNorm2d(c), nn.ReLU(inplace=True)))
                else:
                    layers.append(None)
            else:       # new branch: strided 3x3 convs from the lowest-resolution previous branch
                units = []
                for k in range(i + 1 - len(pre)):
                    cout = c if k == i - len(pre) else pre[-1]
                    units.append(nn.Sequential(_conv3x3(pre[-1], cout, stride=2), nn.BatchNorm2d(cout),
                                               nn.ReLU(inplace=True)))
                layers.append(nn.Sequential(*units))
        return nn.ModuleList(layers)

    def forward_features(self, x: torch.Tensor) -> List[torch.Tensor]:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(self.bn2(self.conv2(x)))
        y = [self.layer1(x)]
        for s in range(len(self.spec.stages)):
            transition = getattr(self, f"transition{s + 1}")
            xs = []
            for i, t in enumerate(transition):
                if i < len(y):
                    xs.append(y[i] if t is None else t(y[i]))
                else:
                    xs.append(t(y[-1]))
            y = getattr(self, f"stage{s + 2}")(xs)
        return y

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        return self.forward_features(x)

    def init_weights(self) -> None:
        """Reference init: every Conv2d ~ N(0, 0.001) with zero bias; BN weight 1, bias 0."""
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.normal_(m.weight, std=0.001)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)


def load_pretrained_backbone(model: nn.Module, source: Union[str, Mapping[str, torch.Tensor]],
                             layers: Optional[Sequence[str]] = HRNET_PRETRAINED_LAYERS) -> Dict[str, List[str]]:
    """Initialise ``model`` from an ImageNet HRNet checkpoint, loading only the keys that match.

    ``source`` is a path or a state dict, read with
    :func:`animalpose.models.checkpoint.read_checkpoint`. That unwraps a
    ``state_dict`` or ``model`` entry and strips the ``module.`` prefix. A key is loaded when
    its first token is in ``layers`` (``None`` means every layer), the model
    has that key, and the shapes agree.

    Returns a report with these lists: ``loaded``, ``shape_mismatch``
    (``"key: ckpt (..) vs model (..)"``), ``not_in_model`` (e.g. the ImageNet
    classifier), ``not_selected`` (first token not in ``layers``) and
    ``missing`` (model keys left at their init). The report is also logged.
    """
    sd, _ = read_checkpoint(source)
    name = str(source) if isinstance(source, (str, os.PathLike)) else "<state dict>"

    own = model.state_dict()
    report: Dict[str, List[str]] = {"loaded": [], "shape_mismatch": [], "not_in_model": [],
                                    "not_selected": [], "missing": []}
    take = {}
    for k, v in sd.items():
        if layers is not None and k.split(".")[0] not in layers:
            report["not_selected"].append(k)
        elif k not in own:
            report["not_in_model"].append(k)
        elif tuple(v.shape) != tuple(own[k].shape):
            report["shape_mismatch"].append(f"{k}: ckpt {tuple(v.shape)} vs model {tuple(own[k].shape)}")
        else:
            take[k] = v
            report["loaded"].append(k)
    report["missing"] = [k for k in own if k not in take]
    model.load_state_dict(take, strict=False)
    logger.info("pretrained backbone %s: loaded %d tensors, %d shape mismatches, %d not in model, "
                "%d not selected, %d model tensors left at init", name, len(report["loaded"]),
                len(report["shape_mismatch"]), len(report["not_in_model"]), len(report["not_selected"]),
                len(report["missing"]))
    return report


# --------------------------------------------------------------------------
# Top-down pose network
# --------------------------------------------------------------------------
class PoseHighResolutionNet(HRNetBackbone):
    """HRNet for top-down pose: ``final_layer`` (1x1 conv, bias) on the 1/4-resolution branch.

    ``forward(images (N,3,H,W)) -> heatmaps (N,K,H/4,W/4)``.
    """

    output_stride = 4

    def __init__(self, num_joints: int, spec: Union[HRNetSpec, Mapping, None] = None,
                 final_conv_kernel: int = 1):
        spec = hrnet_spec(32) if spec is None else spec
        super().__init__(spec)
        self.num_joints = num_joints
        c0 = self.spec.stages[-1].num_channels[0] * BLOCKS[self.spec.stages[-1].block].expansion
        self.final_layer = nn.Conv2d(c0, num_joints, final_conv_kernel, padding=final_conv_kernel // 2)
        self.init_weights()
        self.pretrained_report: Optional[Dict[str, List[str]]] = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.final_layer(self.forward_features(x)[0])


def _build_hrnet(width: int, num_joints: int, pretrained_backbone: Optional[str] = None,
                 final_conv_kernel: int = 1) -> PoseHighResolutionNet:
    model = PoseHighResolutionNet(num_joints, hrnet_spec(width), final_conv_kernel=final_conv_kernel)
    if pretrained_backbone:
        model.pretrained_report = load_pretrained_backbone(model, pretrained_backbone)
    return model


@register_model("hrnet_w32")
def hrnet_w32(num_joints: int, pretrained_backbone: Optional[str] = None,
              final_conv_kernel: int = 1) -> PoseHighResolutionNet:
    """HRNet-W32 top-down (28,536,113 params with 17 joints).

    ``pretrained_backbone`` is an ImageNet HRNet-W32 checkpoint
    (``hrnet_w32-36af842e.pth``). Its matching keys are loaded, and
    ``model.pretrained_report`` lists what was loaded and what was not.
    """
    return _build_hrnet(32, num_joints, pretrained_backbone, final_conv_kernel)


@register_model("hrnet_w48")
def hrnet_w48(num_joints: int, pretrained_backbone: Optional[str] = None,
              final_conv_kernel: int = 1) -> PoseHighResolutionNet:
    """HRNet-W48 top-down (63,595,745 params with 17 joints); see :func:`hrnet_w32`."""
    return _build_hrnet(48, num_joints, pretrained_backbone, final_conv_kernel)


@register_model("hrnet_lite")
def hrnet_lite(num_joints: int, width: int = 16, num_blocks: int = 1, num_modules: Sequence[int] = (1, 1, 1),
               layer1_blocks: int = 1, stem_channels: int = 32,
               pretrained_backbone: Optional[str] = None) -> PoseHighResolutionNet:
    """A small HRNet (same layout, fewer/narrower blocks) for CPU demos and tests.

    Defaults: W16, one BasicBlock per branch, one module per stage, a
    32-channel stem and one Bottleneck in ``layer1``.  ``pretrained_backbone``
    as :func:`hrnet_w32` (a checkpoint of the same small layout).
    """
    model = PoseHighResolutionNet(num_joints, hrnet_spec(width, num_blocks=num_blocks, num_modules=num_modules,
                                                         layer1_blocks=layer1_blocks, stem_channels=stem_channels))
    if pretrained_backbone:
        model.pretrained_report = load_pretrained_backbone(model, pretrained_backbone)
    return model
