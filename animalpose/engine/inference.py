"""Trained models back from their checkpoints, and top-down prediction on images.

A kit checkpoint carries its resolved experiment config, so
``load_trained(path)`` rebuilds the model, codec, input normalisation and
keypoint spec it was trained with.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import torch

from ..keypoints import KeypointSpec, get_spec
from ..models import build_model, load_checkpoint
from ..models.checkpoint import read_checkpoint, state_mismatch
from ..transforms import Normalize, affine_points, box_center_scale, get_affine_transform, invert_affine, warp_image
from .config import ExperimentConfig
from .configio import ConfigError, from_dict
from .data import build_normalize
from .evaluator import predict


@dataclass
class TrainedModel:
    model: torch.nn.Module
    cfg: ExperimentConfig
    codec: object
    normalize: Normalize
    spec: KeypointSpec
    device: torch.device
    meta: dict


def spec_of_checkpoint(meta: dict, name: str, path: str = "checkpoint") -> KeypointSpec:
    """The spec a checkpoint was trained in: its stored definition (``spec_definition``, written
    by every kit checkpoint, so a user-defined or file-derived spec needs no file at load time),
    registered under its name; else ``get_spec(name)``."""
    from ..keypoints import register_spec, spec_from_dict
    definition = meta.get("spec_definition")
    if not definition:
        return get_spec(name)
    try:
        spec = spec_from_dict(definition, where=f"{path}: spec_definition", infer_flip=False)
    except ValueError as e:
        raise ValueError(str(e)) from None
    try:
        return register_spec(spec)
    except ValueError:
        raise ValueError(f"{path}: the checkpoint's spec {spec.name} differs from the spec of that name "
                         "known here") from None


def load_trained(path: str, device: torch.device, config: Optional[ExperimentConfig] = None) -> TrainedModel:
    """Model + codec + normalisation of a kit checkpoint (``config`` for foreign checkpoints)."""
    from .factories import build_codec_from_config, memory_format, output_channels
    state, meta = read_checkpoint(path, map_location="cpu")
    if config is None:
        if "config" not in meta:
            raise ValueError(f"{path}: checkpoint has no experiment config (not written by animalpose); "
                             "pass --config to say which model it holds")
        try:
            config = from_dict(ExperimentConfig, meta["config"])
        except ConfigError as e:
            raise ValueError(f"{path}: stored config is invalid: {e}") from None
    spec = spec_of_checkpoint(meta, config.spec, path)
    options = {k: v for k, v in config.model.options.items() if k != "pretrained_backbone"}   # weights: the checkpoint
    try:                                   # the stored config is checked against the weights' shapes on the
        with torch.device("meta"):         # meta device first: a crafted config allocates nothing
            shell = build_model(config.model.name, output_channels(config, spec), **options)
    except (TypeError, ValueError, KeyError) as e:
        raise ValueError(f"{path}: stored config cannot build {config.model.name} ({e})") from None
    state_mismatch(shell, state, repr(path))
    model = build_model(config.model.name, output_channels(config, spec), **options)
    load_checkpoint(model, state, name=path)
    model.to(device, memory_format=memory_format(config)).eval()   # NHWC by default: same outputs up to rounding
    return TrainedModel(model, config, build_codec_from_config(config), build_normalize(config.normalize), spec,
                        device, meta)


@torch.no_grad()
def predict_boxes(tm: TrainedModel, image: np.ndarray, boxes: Sequence[Sequence[float]], flip: bool = False,
                  padding: float = 1.25) -> np.ndarray:
    """Keypoints ``(M, K, 3)`` (x, y, score in image pixels) for ``M`` boxes ``x1, y1, x2, y2`` of an RGB image."""
    w_in, h_in = tm.codec.input_size
    crops, mats = [], []
    for box in boxes:
        c, s = box_center_scale(box, w_in / h_in, padding)
        m = get_affine_transform(c, s, 0, (w_in, h_in), scale_dtype=tm.cfg.augment.scale_dtype)
        crops.append(tm.normalize(warp_image(image, m, (w_in, h_in))))
        mats.append(m)
    if not crops:
        return np.zeros((0, tm.spec.num_joints, 3), np.float32)
    hm = predict(tm.model, torch.stack(crops).to(tm.device), tm.codec, tm.spec, flip)
    kp, sc = tm.codec.decode(hm.float().cpu())
    out = np.zeros(kp.shape[:2] + (3,), np.float32)
    out[..., :2] = affine_points(kp, invert_affine(np.stack(mats)))
    out[..., 2] = sc
    return out
