"""The sample structure every loader returns."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Dict, Optional

import cv2
import numpy as np

from .errors import DatasetFormatError

PIXEL_STD = 200.0  # scale unit of the reference code: scale = box side / 200


@dataclass
class PoseSample:
    """One annotated instance.

    Attributes:
        image_path: absolute path of the image file.
        keypoints: ``(K, 3)`` float32 ``x, y, v`` in image pixels, in the order
            of ``spec``; ``v`` is the dataset's flag (0 = not labelled).
        bbox: ``(4,)`` float32 ``x1, y1, x2, y2`` in image pixels.
        center: ``(2,)`` float32 crop centre in pixels (the dataset's crop protocol).
        scale: ``(2,)`` float32 crop size / 200 (``pixel_std`` convention).
        spec: keypoint spec name.
        image_id: image identifier within the dataset.
        instance_id: annotation identifier (index for single-instance sets).
        video_id, frame_id: shot id and frame offset within the shot (videos only).
        category: species / category name where the dataset has one.
        image: ``(H, W, 3)`` uint8 RGB, filled by ``dataset[i]``; ``None`` in
            annotation-only access (``dataset.annotation(i)``).
        extra: dataset-specific fields (e.g. area and crowd flag for COCO).
    """

    image_path: str
    keypoints: np.ndarray
    bbox: np.ndarray
    center: np.ndarray
    scale: np.ndarray
    spec: str
    image_id: Any
    instance_id: Any = 0
    video_id: Optional[Any] = None
    frame_id: Optional[int] = None
    category: Optional[str] = None
    image: Optional[np.ndarray] = None
    extra: Dict[str, Any] = field(default_factory=dict)

    def with_image(self) -> "PoseSample":
        return replace(self, image=read_image(self.image_path))


def read_image(path: str) -> np.ndarray:
    """Read an image file as ``(H, W, 3)`` uint8 RGB or raise naming the file."""
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise DatasetFormatError(path, "image file is missing or unreadable")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def square_crop(bbox, factor: float, margin: float = 0.0, image_size=None):
    """Centre and scale of the square animal crops of CC-SSL / UDA.

    ``bbox`` is ``x1, y1, x2, y2``; the box is grown by ``margin`` pixels on each
    side (clipped to ``image_size = (w, h)`` when given) and the crop side is
    ``factor * max(w, h)``.  Returns ``center (2,)``, ``scale (2,)`` (side/200).
    """
    x1, y1, x2, y2 = [float(v) for v in bbox]
    if margin:
        x1, y1, x2, y2 = x1 - margin, y1 - margin, x2 + margin, y2 + margin
        if image_size is not None:
            w, h = image_size
            x1, y1, x2, y2 = max(x1, 0.0), max(y1, 0.0), min(x2, float(w)), min(y2, float(h))
    c = np.array([(x1 + x2) / 2.0, (y1 + y2) / 2.0], dtype=np.float32)
    s = factor * max(x2 - x1, y2 - y1) / PIXEL_STD
    return c, np.array([s, s], dtype=np.float32)


def box_center_scale(bbox, aspect_ratio: float, padding: float = 1.25):
    """HRNet ``_xywh2cs`` on an ``x1, y1, x2, y2`` box: pad to ``w/h =
    aspect_ratio`` then multiply by ``padding``; returns centre and scale/200."""
    x1, y1, x2, y2 = [float(v) for v in bbox]
    w, h = x2 - x1, y2 - y1
    c = np.array([x1 + w * 0.5, y1 + h * 0.5], dtype=np.float32)
    if w > aspect_ratio * h:
        h = w / aspect_ratio
    elif w < aspect_ratio * h:
        w = h * aspect_ratio
    return c, np.array([w, h], dtype=np.float32) / PIXEL_STD * padding


def image_size(path: str):
    """``(w, h)`` of an image file from its header (no full decode)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return im.size
    except FileNotFoundError:
        raise DatasetFormatError(path, "image file is missing") from None
    except (UnidentifiedImageError, OSError):
        raise DatasetFormatError(path, "image file is unreadable") from None
