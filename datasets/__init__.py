"""Loaders for the real on-disk dataset formats and the procedural renderer
that writes data in those same formats."""
from .errors import DatasetFormatError
from .sample import PoseSample, read_image

__all__ = ["DatasetFormatError", "PoseSample", "read_image"]
