"""CrowdPose (Li et al., CVPR 2019) through the COCO loader.

On-disk layout of the release (as read by the HigherHRNet / DEKR CrowdPose
datasets)::

    root/json/crowdpose_{train,val,trainval,test}.json
    root/images/<file_name>                      (one folder for every split)

The JSON is COCO-style with the 14 joints of spec ``crowdpose14`` (l/r
shoulder, elbow, wrist, hip, knee, ankle, then head top and neck; v in 0/1/2).
What the files hold, as far as the public example
(``xtcocoapi/annotations/example_crowdpose_val.json``) shows:

* images: ``file_name``, ``id``, ``height``, ``width`` and ``crowdIndex`` (a
  float given with two decimals);
* annotations: ``num_keypoints``, ``iscrowd``, ``keypoints`` (42 numbers),
  ``image_id``, ``bbox``, ``category_id``, ``id``; no ``area`` and no
  ``segmentation``.  ``num_keypoints`` counts the labelled joints among the 12
  limb joints only (head and neck are not counted) in every annotation of the
  example; no documentation says so.

Without ``area`` the samples' ``extra["area"]`` is the box ``w * h`` (the
:class:`~datasets.coco.CocoKeypoints` rule); the OKS scale of the CrowdPose
protocol (``0.53 * w * h``) is applied by :mod:`evaluation.crowdpose_eval`.

:func:`crowd_index` computes the paper's Crowd Index of one image.  The
released ``crowdIndex`` values are not reproduced by it in every case (see
jeffffffli/CrowdPose issue #25); no reference code for it is published.
"""
from __future__ import annotations

import os
from typing import Dict

import numpy as np

from animalpose.keypoints import get_spec

from .coco import CocoKeypoints
from .errors import DatasetFormatError

__all__ = ["CrowdPoseKeypoints", "crowd_index", "SPLITS", "NUM_JOINTS"]

#: Split names of the release (``json/crowdpose_{split}.json``).
SPLITS = ("train", "val", "trainval", "test")
NUM_JOINTS = get_spec("crowdpose14").num_joints        # 14


def crowd_index(keypoints, boxes) -> float:
    """Crowd Index of one image.

    ``CI = 1/n * sum_i N_b(i) / N_a(i)`` with ``N_a(i)`` the joints of person
    ``i`` and ``N_b(i)`` the joints of the *other* persons inside person ``i``'s
    box: the definition of the CrowdPose paper (section 4.1), as restated in
    jeffffffli/CrowdPose issue #25 (the paper text itself was not checked here).
    Choices of this kit, not fixed by that definition: joints are the labelled
    ones (``v > 0``), box borders count as inside, persons without a labelled
    joint are left out (``n`` counts the others), and an image without such a
    person has index 0.

    Args:
        keypoints: ``(P, K, 3)`` ``x, y, v`` of the image's persons.
        boxes: ``(P, 4)`` boxes ``x, y, w, h``.
    """
    kp = np.asarray(keypoints, dtype=np.float64)
    if kp.size == 0:
        return 0.0
    kp = kp.reshape(kp.shape[0], -1, 3)
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if b.shape[0] != kp.shape[0]:
        raise ValueError(f"crowd_index: {kp.shape[0]} persons but {b.shape[0]} boxes")
    labelled = kp[..., 2] > 0                                              # (P, K)
    x, y = kp[None, ..., 0], kp[None, ..., 1]                              # (1, P, K)
    x0, y0 = b[:, 0, None, None], b[:, 1, None, None]                      # (P, 1, 1): box i
    inside = (x >= x0) & (x <= x0 + b[:, 2, None, None]) & (y >= y0) & (y <= y0 + b[:, 3, None, None])
    counts = (inside & labelled[None]).sum(-1)                             # (box i, person j)
    np.fill_diagonal(counts, 0)
    n_a = labelled.sum(-1)
    keep = n_a > 0
    if not keep.any():
        return 0.0
    return float(np.mean(counts.sum(1)[keep] / n_a[keep]))


class CrowdPoseKeypoints(CocoKeypoints):
    """CrowdPose keypoints, one top-down instance per annotated person.

    Same arguments, filtering, boxes and samples as
    :class:`~datasets.coco.CocoKeypoints`, with keypoints ``(14, 3)`` in the
    ``crowdpose14`` order and ``spec = "crowdpose14"``.  ``crowd_index(image_id)``
    gives the image's ``crowdIndex``.
    """

    default_spec = "crowdpose14"
    benchmark = "crowdpose"

    @classmethod
    def from_root(cls, root, split: str, **kwargs) -> "CrowdPoseKeypoints":
        """Release layout: ``root/json/crowdpose_{split}.json`` and ``root/images/``."""
        root = str(root)
        return cls(os.path.join(root, "json", f"crowdpose_{split}.json"), os.path.join(root, "images"), **kwargs)

    def _read_annotations(self, path: str) -> Dict:
        data = super()._read_annotations(path)
        for img in data["images"]:
            ci = img.get("crowdIndex")
            if ci is not None and (isinstance(ci, bool) or not isinstance(ci, (int, float))):
                raise DatasetFormatError(path, f"image {img['id']!r}: crowdIndex must be a number, got {ci!r}")
        return data

    def crowd_index(self, image_id) -> float:
        """The image's ``crowdIndex`` as stored in the file."""
        if image_id not in self.imgs:
            raise KeyError(f"{self.ann_file}: no image with id {image_id!r}")
        ci = self.imgs[image_id].get("crowdIndex")
        if ci is None:
            raise DatasetFormatError(self.ann_file, f"image {image_id!r} has no crowdIndex")
        return float(ci)
