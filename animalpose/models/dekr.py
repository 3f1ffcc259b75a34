"""DEKR (Geng et al., CVPR 2021): bottom-up pose by disentangled keypoint regression.

Network layout. It reuses :class:`animalpose.models.hrnet.HRNetBackbone` with
every branch output:

* HRNet stem, ``layer1`` and stages 2-4. Every stage-4 module fuses into all
  4 branches.
* The 4 branches are upsampled bilinearly (``align_corners=False``) to 1/4
  resolution and concatenated: 15C channels (480 for W32, 720 for W48).
* Heatmap head: ``transition_heatmap`` (1x1 conv -> C, BN, ReLU), then
  ``head_heatmap`` = [Sequential(BasicBlock(C)), 1x1 conv C -> K+1 with bias].
  The extra channel is the person-centre heatmap.
* Offset head: ``transition_offset`` (1x1 conv -> 15K, BN, ReLU), split into
  K groups of 15 channels. Each group goes through
  ``offset_feature_layers.j`` = two :class:`AdaptBlock` and then
  ``offset_final_layer.j`` (1x1 conv 15 -> 2, bias). The results are
  concatenated to 2K channels. Channels 2j and 2j+1 are the x and y parts of
  ``pixel - joint_j``, as in the DEKR target generator.

``forward(images) -> (heatmaps (N,K+1,H/4,W/4), offsets (N,2K,H/4,W/4))``.

State_dict keys and shapes equal the official ``pose_dekr_hrnetw{32,48}_coco.pth``
(2264 entries for W32, including the ``regular_matrix`` buffers). With 17
joints the models have 29,561,182 (W32) and 65,684,590 (W48) parameters.

Offset layout of :class:`AdaptBlock`. ``torchvision.ops.deform_conv2d`` reads
``offset`` as ``(N, 2*kh*kw, H, W)``. Channel ``2k`` is the **row (y)**
displacement of kernel tap ``k`` and channel ``2k+1`` its **column (x)**
displacement. Taps are numbered row-major, ``k = 3*(dy+1) + (dx+1)``. Row 0
of ``regular_matrix`` (``[-1,-1,-1,0,0,0,1,1,1]``) therefore holds the taps'
y coordinates and row 1 their x coordinates. The per-pixel matrix M (the 4
channels of ``transform_matrix_conv``, row-major) acts on (y, x) column
vectors, and the translation t = (ty, tx) is the 2 channels of
``translation_conv``. The offset of tap k is ``M @ R[:, k] - R[:, k] + t``
(y, x), which is the upstream formula.

So M = I with t = 0 gives offset 0, and the block is then a plain 3x3 conv.
The reference init (both offset convs all zero) gives M = 0 instead: offset
``-R``, so every tap samples the centre pixel and the block starts as a 1x1
conv with the tap-summed kernel. That init is the default here, for
faithfulness. ``adapt_identity_init=True`` starts from M = I (a plain 3x3
conv) instead.

Registered variants: ``dekr_w32``, ``dekr_w48``, the small ``dekr_lite`` (CPU demos) and the
rescore net ``dekr_rescore``.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.ops import DeformConv2d

from .hrnet import (BN_MOMENTUM, BasicBlock, HRNetBackbone, hrnet_spec, load_pretrained_backbone,
                    make_res_layer)
from .registry import register_model

__all__ = [
    "AdaptBlock", "DEKR", "DEKRRescoreNet", "rescore_features", "DEKR_COCO_LIMBS",
    "DEKR_CROWDPOSE_LIMBS", "dekr_w32", "dekr_w48", "dekr_lite", "dekr_rescore",
]

# Regular 3x3 sampling grid of the kernel taps (row-major): row 0 = y, row 1 = x.
_REGULAR_GRID = ((-1, -1, -1, 0, 0, 0, 1, 1, 1),
                 (-1, 0, 1, -1, 0, 1, -1, 0, 1))


class AdaptBlock(nn.Module):
    """DEKR adaptive-conv residual block (per-pixel affine-deformed 3x3 conv, BN, residual, ReLU).

    See the module docstring for the offset layout. ``identity_init=True``
    sets the ``transform_matrix_conv`` bias to (1, 0, 0, 1), so the block
    starts as a plain 3x3 conv. The default (M = 0 at init) follows the
    reference.
    """

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: Optional[nn.Module] = None, dilation: int = 1,
                 deformable_groups: int = 1, identity_init: bool = False):
        super().__init__()
        if stride != 1:
            raise ValueError("AdaptBlock: only stride 1 is supported (the offsets are per input pixel)")
        self.register_buffer("regular_matrix", torch.tensor(_REGULAR_GRID, dtype=torch.float32))
        self.downsample = downsample
        self.transform_matrix_conv = nn.Conv2d(inplanes, 4, 3, padding=1, bias=True)
        self.translation_conv = nn.Conv2d(inplanes, 2, 3, padding=1, bias=True)
        self.adapt_conv = DeformConv2d(inplanes, planes, 3, stride=1, padding=dilation, dilation=dilation,
                                       bias=False, groups=deformable_groups)
        self.bn = nn.BatchNorm2d(planes, momentum=BN_MOMENTUM)
        self.relu = nn.ReLU(inplace=True)
        self.identity_init = identity_init
        self.reset_offset_convs()

    def reset_offset_convs(self) -> None:
        """Zero both offset-predicting convs; with ``identity_init`` the matrix bias becomes I."""
        for conv in (self.transform_matrix_conv, self.translation_conv):
            nn.init.zeros_(conv.weight)
            nn.init.zeros_(conv.bias)
        if self.identity_init:
            with torch.no_grad():
                self.transform_matrix_conv.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 1.0]))

    def offsets(self, x: torch.Tensor) -> torch.Tensor:
        """Deformable-conv offsets ``(N, 18, H, W)`` in torchvision's layout (dy, dx per tap)."""
        n, _, h, w = x.shape
        m = self.transform_matrix_conv(x).view(n, 2, 2, h, w)           # M[a, b], a/b in (y, x)
        r = self.regular_matrix.to(m.dtype)                              # (2, 9)
        off = torch.einsum("nabhw,bk->nkahw", m, r) - r.t()[None, :, :, None, None]
        off = off + self.translation_conv(x)[:, None]                    # (N, 9, 2, H, W) + (N, 1, 2, H, W)
        return off.reshape(n, 18, h, w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = x if self.downsample is None else self.downsample(x)
        offsets = self.offsets(x)
        if x.is_cuda or self.adapt_conv.groups != 1 or self.adapt_conv.stride != (1, 1):
            out = self.adapt_conv(x, offsets)
        else:   # same function, ~10x faster than torchvision's CPU kernel (training included)
            out = deform_conv3x3_sampled(x, offsets, self.adapt_conv.weight, self.adapt_conv.dilation[0])
        return self.relu(self.bn(out) + residual)


def deform_conv3x3_sampled(x: torch.Tensor, offset: torch.Tensor, weight: torch.Tensor,
                           dilation: int = 1) -> torch.Tensor:
    """``torchvision.ops.deform_conv2d`` (3x3, stride 1, padding = dilation, no bias, one offset
    group) written as 9 bilinear ``grid_sample`` reads and one contraction.

    ``x (N, C, H, W)``, ``offset (N, 18, H, W)`` (dy, dx per tap, row-major taps),
    ``weight (O, C, 3, 3)`` -> ``(N, O, H, W)``. Samples outside the map read zeros,
    as torchvision's bilinear kernel does, so both give the same values.
    """
    n, c, h, w = x.shape
    off = offset.view(n, 9, 2, h, w)
    ys = torch.arange(h, dtype=x.dtype, device=x.device)[:, None]
    xs = torch.arange(w, dtype=x.dtype, device=x.device)[None, :]
    taps = torch.tensor(_REGULAR_GRID, dtype=x.dtype, device=x.device) * dilation     # (2, 9): y, x
    py = ys + taps[0][None, :, None, None] + off[:, :, 0]                               # (N, 9, H, W)
    px = xs + taps[1][None, :, None, None] + off[:, :, 1]
    grid = torch.stack([2 * px / max(w - 1, 1) - 1, 2 * py / max(h - 1, 1) - 1], dim=-1)  # (N, 9, H, W, 2)
    sampled = F.grid_sample(x, grid.view(n, 9 * h, w, 2), mode="bilinear", padding_mode="zeros",
                            align_corners=True).view(n, c, 9, h, w)
    return torch.einsum("nckhw,ock->nohw", sampled, weight.reshape(weight.shape[0], c, 9))


def _head_transition(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class DEKR(HRNetBackbone):
    """DEKR bottom-up pose network on an HRNet backbone (see the module docstring)."""

    output_stride = 4

    def __init__(self, num_joints: int, width: int = 32, head_channels: Optional[int] = None,
                 offset_channels_per_joint: int = 15, num_adapt_blocks: int = 2,
                 adapt_identity_init: bool = False, spec=None):
        super().__init__(hrnet_spec(width, multi_scale_output=True) if spec is None else spec)
        if not self.spec.multi_scale_output:
            raise ValueError("DEKR needs an HRNet spec with multi_scale_output=True")
        self.num_joints = num_joints
        self.offset_channels_per_joint = offset_channels_per_joint
        head_channels = width if head_channels is None else head_channels
        cin = sum(self.out_channels)
        self.transition_heatmap = _head_transition(cin, head_channels)
        self.transition_offset = _head_transition(cin, num_joints * offset_channels_per_joint)
        self.head_heatmap = nn.ModuleList([
            make_res_layer(BasicBlock, head_channels, head_channels, 1),
            nn.Conv2d(head_channels, num_joints + 1, 1),
        ])
        c = offset_channels_per_joint
        self.offset_feature_layers = nn.ModuleList(
            nn.Sequential(*[AdaptBlock(c, c, identity_init=adapt_identity_init) for _ in range(num_adapt_blocks)])
            for _ in range(num_joints))
        self.offset_final_layer = nn.ModuleList(nn.Conv2d(c, 2, 1) for _ in range(num_joints))
        self.init_weights()
        self.pretrained_report: Optional[Dict[str, List[str]]] = None

    def init_weights(self) -> None:
        """Reference init: convs N(0, 0.001) with zero bias, BN 1/0, and zero offset convs.

        Like the reference, the ``DeformConv2d`` weights keep torchvision's
        default init, since a DeformConv2d is not an ``nn.Conv2d``.
        """
        super().init_weights()
        for m in self.modules():
            if isinstance(m, AdaptBlock):
                m.reset_offset_convs()

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        ys = self.forward_features(x)
        size = ys[0].shape[-2:]
        feats = torch.cat([ys[0]] + [F.interpolate(y, size=size, mode="bilinear", align_corners=False)
                                     for y in ys[1:]], dim=1)
        heatmaps = self.head_heatmap[1](self.head_heatmap[0](self.transition_heatmap(feats)))
        off_feats = self.transition_offset(feats)
        c = self.offset_channels_per_joint
        offsets = torch.cat([final(layers(off_feats[:, j * c:(j + 1) * c]))
                             for j, (layers, final) in enumerate(zip(self.offset_feature_layers,
                                                                     self.offset_final_layer))], dim=1)
        return heatmaps, offsets


def _build_dekr(width: int, num_joints: int, pretrained_backbone: Optional[str] = None,
                adapt_identity_init: bool = False) -> DEKR:
    model = DEKR(num_joints, width=width, adapt_identity_init=adapt_identity_init)
    if pretrained_backbone:
        # the reference loads every matching key (PRETRAINED_LAYERS ['*'])
        model.pretrained_report = load_pretrained_backbone(model, pretrained_backbone, layers=None)
    return model


@register_model("dekr_w32")
def dekr_w32(num_joints: int, pretrained_backbone: Optional[str] = None,
             adapt_identity_init: bool = False) -> DEKR:
    """DEKR HRNet-W32 (29,561,182 params with 17 joints); outputs ``(heatmaps K+1, offsets 2K)`` at 1/4.

    ``pretrained_backbone``: an ImageNet HRNet(-v2) checkpoint. Every key
    that matches the model in name and shape is loaded, and
    ``model.pretrained_report`` lists them.
    """
    return _build_dekr(32, num_joints, pretrained_backbone, adapt_identity_init)


@register_model("dekr_w48")
def dekr_w48(num_joints: int, pretrained_backbone: Optional[str] = None,
             adapt_identity_init: bool = False) -> DEKR:
    """DEKR HRNet-W48 (65,684,590 params with 17 joints); see :func:`dekr_w32`."""
    return _build_dekr(48, num_joints, pretrained_backbone, adapt_identity_init)


@register_model("dekr_lite")
def dekr_lite(num_joints: int, width: int = 16, num_blocks: int = 1, num_modules: Sequence[int] = (1, 1, 1),
              layer1_blocks: int = 1, stem_channels: int = 32, head_channels: Optional[int] = None,
              offset_channels_per_joint: int = 8,
              num_adapt_blocks: int = 1, adapt_identity_init: bool = False) -> DEKR:
    """A small DEKR (same heads and layout, narrower/shallower) for CPU demos and tests.

    Defaults: HRNet-W16 backbone with one block per branch and one module per
    stage, a 32-channel stem with one Bottleneck in ``layer1``, 8 offset
    channels per joint and one AdaptBlock per joint.
    """
    spec = hrnet_spec(width, multi_scale_output=True, num_blocks=num_blocks, num_modules=num_modules,
                      layer1_blocks=layer1_blocks, stem_channels=stem_channels)
    return DEKR(num_joints, width=width, head_channels=head_channels,
                offset_channels_per_joint=offset_channels_per_joint, num_adapt_blocks=num_adapt_blocks,
                adapt_identity_init=adapt_identity_init, spec=spec)


# --------------------------------------------------------------------------
# Rescore net
# --------------------------------------------------------------------------
# Limb lists of DEKR's rescore features (lib/utils/rescore.py), 0-based (a, b): feature a - b.
# The order and direction differ from the COCO "skeleton" field, and the official rescore
# weights depend on them. Limbs 9 and 11 ((5, 11) and (6, 12)) are the left and right torso sides.
DEKR_COCO_LIMBS: Tuple[Tuple[int, int], ...] = (
    (0, 1), (0, 2), (1, 2), (1, 3), (2, 4), (3, 5), (4, 6), (5, 6), (5, 7), (5, 11),
    (6, 8), (6, 12), (7, 9), (8, 10), (11, 12), (11, 13), (12, 14), (13, 15), (14, 16))
DEKR_CROWDPOSE_LIMBS: Tuple[Tuple[int, int], ...] = (
    (12, 13), (13, 0), (13, 1), (0, 2), (1, 3), (2, 4), (3, 5), (0, 6), (1, 7), (6, 8),
    (7, 9), (8, 10), (9, 11), (6, 7), (0, 1))
_DEFAULT_LIMBS = {17: DEKR_COCO_LIMBS, 14: DEKR_CROWDPOSE_LIMBS}
_DEKR_NORM_LIMBS = (9, 11)

Limbs = Sequence[Tuple[int, int]]


def _resolve_limbs(num_joints: int, skeleton) -> Tuple[Tuple[Tuple[int, int], ...], bool]:
    """``(limbs, is_dekr_builtin)`` from a limb list, a spec (name or KeypointSpec) or ``None``."""
    if skeleton is None:
        if num_joints not in _DEFAULT_LIMBS:
            raise ValueError(f"rescore: no default limb list for {num_joints} joints; pass skeleton= "
                             f"(a list of (i, j) pairs or a keypoint spec name)")
        return _DEFAULT_LIMBS[num_joints], True
    if isinstance(skeleton, str) or hasattr(skeleton, "skeleton"):
        from ..keypoints import get_spec
        spec = get_spec(skeleton)
        if len(spec.joints) != num_joints:
            raise ValueError(f"rescore: spec {spec.name} has {len(spec.joints)} joints, not {num_joints}")
        skeleton = spec.skeleton
    limbs = tuple((int(a), int(b)) for a, b in skeleton)
    bad = [(a, b) for a, b in limbs if not (0 <= a < num_joints and 0 <= b < num_joints)]
    if not limbs or bad:
        raise ValueError(f"rescore: bad limb list for {num_joints} joints: {bad or 'empty'}")
    return limbs, limbs in _DEFAULT_LIMBS.values()


def rescore_features(poses, skeleton=None, norm_limbs: Optional[Sequence[int]] = None) -> torch.Tensor:
    """DEKR rescore-net input features for ``poses (M, K, 3)`` = (x, y, score) per joint.

    The features are, in this order (``L`` limbs):

    * ``2L`` values: limb vectors ``p[a] - p[b]``, interleaved as dx0, dy0, dx1, dy1, ...;
    * ``L`` values: limb lengths;
    * ``K`` values: the joint scores (the third column, unnormalised).

    The vectors and lengths are divided by the mean length of the limbs
    ``norm_limbs``, clamped below at 1. For COCO that is the two torso sides.

    ``skeleton`` is ``None`` (DEKR's COCO limbs for K=17, CrowdPose limbs
    for K=14), a list of ``(a, b)`` pairs, or a keypoint spec (name or
    :class:`~animalpose.keypoints.KeypointSpec`) whose skeleton is used.
    ``norm_limbs`` defaults to DEKR's ``(9, 11)`` with the built-in limb
    lists, and to all limbs with any other skeleton (an assumption: the
    reference defines no rule for other skeletons). Returns a float32
    tensor of shape ``(M, 3L + K)``; 74 values for COCO.
    """
    p = torch.as_tensor(np.asarray(poses) if not isinstance(poses, torch.Tensor) else poses)
    p = p.to(torch.float64) if not p.is_floating_point() else p
    if p.ndim != 3 or p.shape[-1] < 3:
        raise ValueError(f"rescore_features: poses must be (M, K, 3), got {tuple(p.shape)}")
    k = p.shape[1]
    limbs, builtin = _resolve_limbs(k, skeleton)
    if norm_limbs is None:
        norm_limbs = _DEKR_NORM_LIMBS if builtin else tuple(range(len(limbs)))
    a = torch.tensor([l[0] for l in limbs], device=p.device)
    b = torch.tensor([l[1] for l in limbs], device=p.device)
    vec = p[:, a, :2] - p[:, b, :2]                                    # (M, L, 2)
    length = vec.pow(2).sum(-1).sqrt()                                 # (M, L)
    norm = length[:, list(norm_limbs)].mean(1, keepdim=True).clamp(min=1.0)
    feats = torch.cat([(vec / norm[..., None]).flatten(1), length / norm, p[:, :, 2]], dim=1)
    return feats.to(torch.float32)


class DEKRRescoreNet(nn.Module):
    """DEKR's pose rescoring MLP (``predictOKS``): Linear -> ReLU -> Linear -> ReLU -> Linear(1).

    It predicts a pose's OKS from :func:`rescore_features`. DEKR multiplies
    the prediction into the pose score. Keys are ``l{1,2,3}.{weight,bias}``,
    as in ``final_rescore_coco_kpt.pth``. COCO has 74 inputs and 85,249
    parameters.
    """

    def __init__(self, in_features: int = 74, hidden: int = 256,
                 limbs: Optional[Limbs] = None, norm_limbs: Optional[Sequence[int]] = None):
        super().__init__()
        self.l1 = nn.Linear(in_features, hidden)
        self.l2 = nn.Linear(hidden, hidden)
        self.l3 = nn.Linear(hidden, 1)
        self.relu = nn.ReLU()
        self.limbs = tuple(limbs) if limbs is not None else None
        self.norm_limbs = tuple(norm_limbs) if norm_limbs is not None else None
        self.init_weights()

    def init_weights(self) -> None:
        """Reference init: kaiming-uniform weights (a=1), zero biases."""
        for m in (self.l1, self.l2, self.l3):
            nn.init.kaiming_uniform_(m.weight, a=1)
            nn.init.zeros_(m.bias)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """``(M, in_features) -> (M, 1)`` predicted OKS."""
        return self.l3(self.relu(self.l2(self.relu(self.l1(features)))))

    @torch.no_grad()
    def rescore(self, poses) -> torch.Tensor:
        """Predicted OKS ``(M,)`` for ``poses (M, K, 3)``, using this net's limbs; NaN becomes 0."""
        feats = rescore_features(poses, self.limbs, self.norm_limbs)
        dev = next(self.parameters()).device
        return torch.nan_to_num(self(feats.to(dev))[:, 0], nan=0.0)


@register_model("dekr_rescore")
def dekr_rescore(num_joints: int = 17, skeleton=None, hidden: int = 256,
                 norm_limbs: Optional[Sequence[int]] = None) -> DEKRRescoreNet:
    """DEKR rescore net with ``3 * len(limbs) + num_joints`` inputs (74 for COCO, 85,249 params).

    ``skeleton``: ``None`` (DEKR's limb list for 17 / 14 joints), a list of
    ``(a, b)`` pairs, or a keypoint spec name such as ``"tigdog18"``.
    """
    limbs, builtin = _resolve_limbs(num_joints, skeleton)
    if norm_limbs is None:
        norm_limbs = _DEKR_NORM_LIMBS if builtin else tuple(range(len(limbs)))
    return DEKRRescoreNet(3 * len(limbs) + num_joints, hidden, limbs=limbs, norm_limbs=norm_limbs)
