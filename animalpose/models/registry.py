"""Registry of named model variants (timm style).

Each architecture family module registers its variants with
:func:`register_model`; :func:`build_model` looks them up by name.
"""
from __future__ import annotations

import inspect
from typing import Callable, Dict, List

import torch.nn as nn

_MODELS: Dict[str, Callable[..., nn.Module]] = {}


def register_model(name: str):
    """Decorator: register ``fn(num_joints, **options) -> nn.Module`` under ``name``."""
    def deco(fn):
        if name in _MODELS:
            raise ValueError(f"model {name!r} registered twice")
        _MODELS[name] = fn
        return fn
    return deco


def list_models() -> List[str]:
    """Names accepted by :func:`build_model`, sorted."""
    return sorted(_MODELS)


def build_model(name: str, num_joints: int, **options) -> nn.Module:
    """Build the registered model ``name`` predicting ``num_joints`` keypoints."""
    if name not in _MODELS:
        raise KeyError(f"unknown model {name!r}; choose from {', '.join(list_models())}")
    fn = _MODELS[name]
    try:
        inspect.signature(fn).bind(num_joints, **options)
    except TypeError as e:
        allowed = [p for p in inspect.signature(fn).parameters if p != "num_joints"]
        raise ValueError(f"model {name!r}: {e} (options: {', '.join(allowed) or 'none'})") from None
    return fn(num_joints, **options)
