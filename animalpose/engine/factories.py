"""Build what a config names: the model (with its ImageNet backbone, checked), the codec, the memory
layout. Training (:mod:`~animalpose.engine.trainer`) and inference
(:mod:`~animalpose.engine.inference`) both build through here."""
from __future__ import annotations

import os
from typing import Callable, Dict, Optional

import torch

from ..codecs import build_codec
from ..keypoints import get_spec
from ..models import build_model, load_checkpoint
from .config import ExperimentConfig

__all__ = ["build_model_from_config", "output_channels", "require_backbone", "check_backbone_report",
           "memory_format", "build_codec_from_config"]


def build_model_from_config(cfg: ExperimentConfig, log: Callable[[str], None] = print) -> torch.nn.Module:
    """The config's model; an ImageNet ``model.options.pretrained_backbone`` must exist (one-line error
    naming it and ``--no-pretrained``) and must fill every backbone tensor (strict on the backbone); one
    line reports what was loaded and skipped."""
    spec = get_spec(cfg.spec)
    backbone = require_backbone(cfg)
    model = build_model(cfg.model.name, output_channels(cfg, spec), **cfg.model.options)
    report = getattr(model, "pretrained_report", None)
    if backbone and report is not None:
        check_backbone_report(report, str(backbone))
        log(f"pretrained backbone {backbone}: loaded {len(report['loaded'])} tensors; skipped "
            f"{len(report['not_in_model']) + len(report['not_selected'])} of the file (classifier, unused layers), "
            f"{len(report['missing'])} model tensors (head) keep their init")
    if cfg.model.pretrained:
        load_checkpoint(model, cfg.model.pretrained)
    return model


def output_channels(cfg: ExperimentConfig, spec) -> int:
    """Heatmap channels the model predicts: ``K * channels_per_joint`` of the codec (3K for UDP's
    combined target, K otherwise)."""
    if cfg.codec.name == "dekr":
        return spec.num_joints
    return spec.num_joints * getattr(build_codec_from_config(cfg), "channels_per_joint", 1)


def require_backbone(cfg: ExperimentConfig) -> Optional[str]:
    """The config's ImageNet backbone file (``model.options.pretrained_backbone``), which must exist."""
    backbone = cfg.model.options.get("pretrained_backbone")
    if backbone and not os.path.isfile(str(backbone)):
        raise FileNotFoundError(f"model.options.pretrained_backbone {backbone!r} not found: this config starts from "
                                "an ImageNet backbone as the official run does; download it there, or pass "
                                "--no-pretrained to train from scratch")
    return backbone


def check_backbone_report(report: Dict, path: str) -> None:
    """Strict on the backbone: a backbone tensor of the model (first key token in HRNet's
    ``PRETRAINED_LAYERS``) that the file did not fill, or a shape mismatch, is an error."""
    from ..models.hrnet import HRNET_PRETRAINED_LAYERS
    if report["shape_mismatch"]:
        raise ValueError(f"{path}: {len(report['shape_mismatch'])} backbone tensors have another shape, e.g. "
                         f"{report['shape_mismatch'][0]} (not the ImageNet checkpoint of this model?)")
    left = [k for k in report["missing"] if k.split(".")[0] in HRNET_PRETRAINED_LAYERS
            and not k.endswith("num_batches_tracked")]
    if left:
        raise ValueError(f"{path}: {len(left)} backbone tensors are not in the file, e.g. {left[0]} "
                         "(not the ImageNet checkpoint of this model?)")


def memory_format(cfg: ExperimentConfig) -> torch.memory_format:
    """Layout of the conv weights and activations: NHWC when ``train.channels_last`` (faster convs on
    oneDNN), else unchanged.  Training and :func:`~animalpose.engine.inference.load_trained` both use it."""
    return torch.channels_last if cfg.train.channels_last else torch.preserve_format


def build_codec_from_config(cfg: ExperimentConfig):
    c = cfg.codec
    if c.name == "dekr":      # bottom-up targets (not a heatmap codec of the top-down registry)
        from ..codecs.dekr import DEKRCodec
        return DEKRCodec(tuple(c.input_size), tuple(c.heatmap_size), sigma=c.sigma, **c.options)
    return build_codec(c.name, input_size=tuple(c.input_size), heatmap_size=tuple(c.heatmap_size), sigma=c.sigma,
                       **c.options)
