"""Test helpers shared by the DEKR tests: a model that replays prepared outputs, and the perfect
DEKR network output of a COCO-style source."""
from typing import List, Optional, Tuple

import numpy as np
import torch

from animalpose.codecs.dekr import DEKRCodec
from animalpose.engine.bottomup import multi_scale_size
from animalpose.transforms import affine_points, get_affine_transform


class Replay(torch.nn.Module):
    """A 'model' that returns prepared outputs in call order; with ``stride`` it checks that each
    output ``(heatmaps, offsets)`` has the input's size / stride."""

    def __init__(self, outputs, stride: Optional[int] = None):
        super().__init__()
        self.outputs = list(outputs)
        self.stride = stride
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x):
        out = self.outputs.pop(0)
        if self.stride is not None:
            assert out[0].shape[-2:] == (x.shape[2] // self.stride, x.shape[3] // self.stride)
        return out


def exact_dekr_outputs(source, input_side: int) -> List[Tuple[torch.Tensor, torch.Tensor]]:
    """DEKR targets of every image's ground truth at the scale-1 test resize (stride 4):
    ``(heatmaps (1, K+1, h, w), offsets (1, 2K, h, w))`` per image, in ``source.image_ids`` order."""
    outs = []
    for image_id in source.image_ids:
        info = source.coco.imgs[image_id]
        size, center, scale = multi_scale_size(info["height"], info["width"], input_side, 1.0)
        kp = np.stack([p.keypoints for p in source.people(image_id)]).astype(np.float64)
        kp[..., :2] = affine_points(kp[..., :2], get_affine_transform(center, scale, 0, size)) / 4.0
        t = DEKRCodec(input_size=size, heatmap_size=(size[0] // 4, size[1] // 4)).encode_hm(kp)
        outs.append((torch.from_numpy(t["heatmaps"])[None], torch.from_numpy(t["offsets"])[None]))
    return outs
