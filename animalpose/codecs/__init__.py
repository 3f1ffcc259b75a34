"""Heatmap codecs: keypoints <-> training targets, decoding and flip test.

==================  ============================================================
``msra``            HRNet/SimpleBaseline: quantised centre, argmax + quarter offset, flip shift
``dark``            DARK: float-centre whole-map Gaussian, blur + log + Taylor step
``udp``             UDP: ``(size - 1)`` coordinates, float-centre window Gaussian, Newton step
``udp_combined``    UDP "offset" target: class disk + x/y offset maps (3 channels per joint)
``bearpaw``         stacked hourglass / CC-SSL: 7x7 Gaussian at the int point, 1-based decode
==================  ============================================================

``build_codec("dark", heatmap_size=(48, 64))``; every codec has ``encode``,
``decode``, ``flip_back`` and ``flip_test`` (:class:`~animalpose.codecs.base.Codec`).
"""
from __future__ import annotations

from typing import Callable, Dict, List

from .base import Codec
from .bearpaw import BearpawHeatmap, argmax_1based
from .dark import DarkHeatmap
from .msra import MSRAHeatmap
from .udp import UDPHeatmap

__all__ = ["Codec", "MSRAHeatmap", "DarkHeatmap", "UDPHeatmap", "BearpawHeatmap", "argmax_1based",
           "build_codec", "list_codecs"]

_CODECS: Dict[str, Callable[..., Codec]] = {
    "msra": MSRAHeatmap,
    "dark": DarkHeatmap,
    "udp": lambda **kw: UDPHeatmap(target="gaussian", **kw),
    "udp_combined": lambda **kw: UDPHeatmap(target="combined", **kw),
    "bearpaw": BearpawHeatmap,
}


def list_codecs() -> List[str]:
    """Names accepted by :func:`build_codec`, sorted."""
    return sorted(_CODECS)


def build_codec(name: str, **options) -> Codec:
    """Build codec ``name`` (see :func:`list_codecs`) with constructor ``options``
    (``input_size``, ``heatmap_size``, ``sigma``, codec-specific ones)."""
    if name not in _CODECS:
        raise KeyError(f"unknown codec {name!r}; choose from {', '.join(list_codecs())}")
    return _CODECS[name](**options)
