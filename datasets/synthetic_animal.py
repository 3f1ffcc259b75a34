"""CC-SSL synthetic animals (``synthetic_animal/<animal>_combineds5r5_texture``).

On disk, per image with common prefix ``P``: ``P_img.png`` (RGB), ``P_kpts.npy``
(``3299 x 3`` projected mesh vertices ``x, y, vis``, or directly ``18 x 3``),
``P_seg.png`` (0/255 mask); per animal ``train_idxs.npy`` / ``valid_idxs.npy``
index the *sorted* list of ``*img.png`` files.  The 18 TigDog-order joints of a
3299-row file are the vertices listed in :data:`VERTEX_IDS`; the crop box is the
min/max over all projected vertices clipped to the image, crop side
``1.25 * max(w, h)``; an image is kept when at least 6 of the 18 joints are
visible.
"""
from __future__ import annotations

import glob
import os
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np

from .errors import DatasetFormatError, read_index_file
from .sample import PoseSample, image_size, square_crop

#: mesh vertex ids of the 18 joints (CC-SSL loader order = TigDog horse order)
VERTEX_IDS: Dict[str, List[int]] = {
    "horse": [1718, 1684, 1271, 1634, 1650, 1643, 1659, 925, 392, 564, 993, 726, 1585, 1556, 427, 1548, 967, 877],
    "tiger": [2753, 2679, 2032, 1451, 1287, 3085, 1632, 229, 1441, 1280, 2201, 1662, 266, 158, 270, 152, 219, 129],
    "sheep": [2046, 1944, 1267, 1875, 1900, 1868, 1894, 687, 173, 1829, 1422, 821, 624, 580, 622, 575, 1370, 716],
    "hound": [2028, 2580, 912, 878, 977, 1541, 1734, 480, 799, 1575, 1446, 602, 755, 673, 780, 1580, 466, 631],
}
NUM_MESH_VERTICES = 3299
#: per-animal RGB mean of the released mean.pth.tar files (the reference subtracts the mean only)
RGB_MEAN: Dict[str, Sequence[float]] = {
    "horse": (0.4038, 0.3956, 0.3925), "tiger": (0.3959, 0.3861, 0.3818), "sheep": (0.4042, 0.3977, 0.3974),
    "hound": (0.3999, 0.3928, 0.3914), "elephant": (0.3894, 0.3819, 0.3775), "all": (0.3999, 0.3909, 0.3871),
}
SPLITS = ("train", "valid", "all")


def animal_dir(root: str, animal: str) -> str:
    return os.path.join(root, f"{animal}_combineds5r5_texture")


def read_keypoints_file(path: str, animal: str, vertex_ids: Optional[Sequence[int]] = None) -> tuple:
    """Return ``(joints (18, 3), vertices (N, 3) or None)`` from a ``P_kpts.npy`` file.

    A file of all mesh vertices is reduced with ``vertex_ids`` when given (any
    mesh size; e.g. the elephant), else with the built-in table of ``animal``
    (3299-vertex meshes)."""
    try:
        arr = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise DatasetFormatError(path, "keypoint file is missing") from None
    except Exception as e:  # noqa: BLE001 - any parse failure is a format error
        raise DatasetFormatError(path, f"not a readable .npy array ({e.__class__.__name__})") from None
    if vertex_ids is not None and arr.ndim == 2 and arr.shape[1] == 3 and arr.shape[0] != 18:
        ids = np.asarray(vertex_ids, np.int64)
        if ids.max() >= arr.shape[0]:
            raise DatasetFormatError(path, f"vertex_ids go up to {int(ids.max())} but the file has "
                                           f"{arr.shape[0]} vertices")
        if arr.dtype.kind not in "iuf" or not np.isfinite(arr).all():
            raise DatasetFormatError(path, "keypoints must be finite numbers (NaN, infinite or non-numeric values)")
        arr = arr.astype(np.float32)
        return arr[ids], arr
    if arr.ndim != 2 or arr.shape[1] != 3 or arr.shape[0] not in (18, NUM_MESH_VERTICES):
        other_mesh = arr.ndim == 2 and arr.shape[1] == 3 and arr.shape[0] > 18
        raise DatasetFormatError(path, f"expected an array of shape (18, 3) or ({NUM_MESH_VERTICES}, 3), got {arr.shape}"
                                       + ("; a mesh of another size needs the data option vertex_ids (18 ids)"
                                          if other_mesh else ""))
    arr = arr.astype(np.float32) if arr.dtype.kind in "iuf" else None
    if arr is None or not np.isfinite(arr).all():
        raise DatasetFormatError(path, "keypoints must be finite numbers (NaN, infinite or non-numeric values)")
    if arr.shape[0] == 18:
        return arr, None
    if animal not in VERTEX_IDS:
        raise DatasetFormatError(path, f"3299-vertex keypoints need a vertex-id table; none for animal {animal!r} "
                                       f"(known: {', '.join(VERTEX_IDS)}); give the data option vertex_ids (18 ids)")
    return arr[VERTEX_IDS[animal]], arr


class SyntheticAnimal:
    """Synthetic animal images of one species in the CC-SSL layout.

    Args:
        root: folder holding ``<animal>_combineds5r5_texture/``.
        animal: ``horse``, ``tiger``, ``sheep``, ``hound`` (vertex tables) or any
            folder whose keypoint files are already ``18 x 3``.
        split: ``train`` / ``valid`` (the shipped index files) or ``all``.
        split_dir: folder with ``train_idxs.npy`` / ``valid_idxs.npy`` when they are
            not inside the image folder (the LFSA repo keeps them in ``data/``).
        min_visible: keep an image when at least this many joints are visible.
        occlusion_visible: ``train_with_occlusion``: mark every in-image joint visible.
        vertex_ids: the 18 joints' mesh vertex ids for an animal without a built-in
            table (the elephant's are not in the kit's facts; take them from the release).
    """

    spec = "tigdog18"
    benchmark = "pck"

    def __init__(self, root: str, animal: str = "horse", split: str = "train", split_dir: Optional[str] = None,
                 min_visible: int = 6, occlusion_visible: bool = False, crop_factor: float = 1.25,
                 vertex_ids: Optional[Sequence[int]] = None):
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        self.root, self.animal, self.split = root, animal, split
        self.folder = animal_dir(root, animal)
        if not os.path.isdir(self.folder):
            raise DatasetFormatError(self.folder, "synthetic animal folder not found")
        files = sorted(glob.glob(os.path.join(self.folder, "*img.png")))
        if not files:
            raise DatasetFormatError(self.folder, "no *img.png images")
        if split == "all":
            idxs = np.arange(len(files))
        else:
            idx_file = os.path.join(split_dir or self.folder, f"{split}_idxs.npy")
            if not os.path.isfile(idx_file):
                raise DatasetFormatError(idx_file, "split index file not found")
            idxs = read_index_file(idx_file)
            if idxs.size and (idxs.min() < 0 or idxs.max() >= len(files)):
                raise DatasetFormatError(idx_file, f"indices out of range for {len(files)} images")
        self.min_visible, self.occlusion_visible, self.crop_factor = min_visible, occlusion_visible, crop_factor
        self._items = []
        for i in idxs:
            img_path = files[i]
            joints, verts = read_keypoints_file(img_path[:-7] + "kpts.npy", animal, vertex_ids)
            if (joints[:, 2] > 0).sum() < min_visible:
                continue
            self._items.append((int(i), img_path, joints, verts))

    def __len__(self) -> int:
        return len(self._items)

    def annotation(self, i: int) -> PoseSample:
        idx, path, joints, verts = self._items[i]
        kp = joints.copy()
        size = image_size(path)
        pts = verts if verts is not None else joints
        w, h = size
        x1, y1 = np.clip(pts[:, 0].min(), 0, w), np.clip(pts[:, 1].min(), 0, h)
        x2, y2 = np.clip(pts[:, 0].max(), 0, w), np.clip(pts[:, 1].max(), 0, h)
        inside = (kp[:, 0] >= 0) & (kp[:, 0] < w) & (kp[:, 1] >= 0) & (kp[:, 1] < h)
        if self.occlusion_visible:
            kp[:, 2] = inside.astype(np.float32)
        else:
            kp[:, 2] = kp[:, 2] * inside
        bbox = np.array([x1, y1, x2, y2], np.float32)
        c, s = square_crop(bbox, self.crop_factor)
        return PoseSample(image_path=path, keypoints=kp, bbox=bbox, center=c, scale=s, spec=self.spec,
                          image_id=idx, instance_id=idx, category=self.animal,
                          extra={"mask_path": path[:-7] + "seg.png"})

    def __getitem__(self, i: int) -> PoseSample:
        return self.annotation(i).with_image()

    def mask(self, i: int) -> np.ndarray:
        """``(H, W)`` bool foreground mask from ``P_seg.png``."""
        p = self.annotation(i).extra["mask_path"]
        m = cv2.imread(p, cv2.IMREAD_GRAYSCALE | cv2.IMREAD_IGNORE_ORIENTATION)
        if m is None:
            raise DatasetFormatError(p, "segmentation file is missing or unreadable")
        return m > 127
