"""Model zoo: stacked hourglass, SimpleBaseline, HRNet, DEKR (+ rescore net).

``build_model(name, num_joints, **options)`` builds a registered variant;
``list_models()`` names them; ``load_checkpoint(model, path)`` loads official
or kit checkpoints strictly.
"""
from .registry import build_model, list_models, register_model
from . import hourglass, simplebaseline, hrnet, dekr  # noqa: F401  (register the variants)
from .checkpoint import load_checkpoint, save_checkpoint  # noqa: F401

__all__ = ["build_model", "list_models", "register_model", "load_checkpoint", "save_checkpoint"]
