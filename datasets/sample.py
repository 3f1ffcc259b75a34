"""The sample structure every loader returns."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Dict, Optional

import cv2
import numpy as np

from animalpose.transforms.affine import PIXEL_STD, box_center_scale, square_crop  # noqa: F401  (re-exported)

from .errors import DatasetFormatError


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
    """Read an image file as ``(H, W, 3)`` uint8 RGB or raise naming the file.

    The pixels are decoded as stored: an EXIF orientation tag is ignored
    (``cv2.IMREAD_IGNORE_ORIENTATION``, as the reference code reads images), because
    annotation files give keypoints, ``width`` and ``height`` in the stored frame."""
    img = cv2.imread(str(path), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    if img is None:
        raise DatasetFormatError(path, "image file is missing or unreadable")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


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
