"""DEKR's rescore net, trained as the official ``valid.py`` (``RESCORE.GET_DATA``) + ``train_scorenet.py``.

1. :func:`rescore_data`. A trained bottom-up model predicts every image of the
   *training* set with the official ``rescore_coco.yaml`` test settings:
   flip test, one scale, pose-NMS 0.05, no rescoring, no OKS-NMS. The results
   are scored by :func:`evaluation.rescore_data.rescore_samples`. A pose's
   target is its best OKS, recorded once per area range.
2. :func:`fit_rescore_net`. The loop of ``rescore_fit`` / ``train_core``:
   targets equal to 1.0 set to 0 (``one_to_zero``; the official loader's
   ``get_joint`` does this), Adam (lr 1e-3), 20 epochs, a fresh numpy
   permutation each epoch, ``floor(N / 1024)`` batches (the remainder is
   dropped), mean-squared error on the ``(M, 1)`` output, and the reference
   initialisation (kaiming-uniform ``a=1``, zero biases). The official loop
   divides by zero when ``N < batch``; here that case trains one batch of all
   ``N`` samples.

The saved file is a plain ``l{1,2,3}`` state dict like
``final_rescore_coco_kpt.pth``. ``--rescore`` / ``bottomup.rescore`` load it.
The features follow :func:`rescore_skeleton`: DEKR's own limb lists for
``coco17`` and ``crowdpose14``, the spec's skeleton for any other joint set.
"""
from __future__ import annotations

from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
import torch

from ..keypoints import get_spec

__all__ = ["RESCORE_RECIPE", "rescore_skeleton", "build_rescore_net", "rescore_data", "fit_rescore_net"]

#: The official ``experiments/coco/rescore_coco.yaml`` (``RESCORE`` and ``TEST`` parts).
RESCORE_RECIPE = {"epochs": 20, "lr": 1e-3, "batch_size": 1024, "hidden": 256, "one_to_zero": True,
                  "flip": True, "scales": (1.0,), "nms_threshold": 0.05}


def rescore_skeleton(spec):
    """The limb list of a spec's rescore features: ``None`` (DEKR's lists) for ``coco17`` and
    ``crowdpose14``, else the spec's name (its skeleton)."""
    s = get_spec(spec)
    return None if s.name in ("coco17", "crowdpose14") else s.name


def build_rescore_net(spec, hidden: int = 256) -> torch.nn.Module:
    """A freshly initialised :class:`~animalpose.models.dekr.DEKRRescoreNet` for ``spec``."""
    from ..models import build_model
    s = get_spec(spec)
    return build_model("dekr_rescore", s.num_joints, skeleton=rescore_skeleton(s), hidden=hidden)


def rescore_data(model, source, codec, normalize, spec, device, flip: bool = True,
                 scales=(1.0,), flip_shift: int = 3, max_images: Optional[int] = None,
                 progress: Optional[Callable[[int], None]] = None) -> Dict:
    """Rescore training samples of a bottom-up ``model`` on every image of ``source`` (COCO / CrowdPose).

    ``max_images`` keeps the first N images (a quick check; the official data uses all of them).
    Returns ``{"poses": (N, K, 3), "oks": (N,), "results": [...], "images": int}``. ``poses`` is in
    image pixels with joint scores, ``oks`` the raw targets (before ``one_to_zero``).
    """
    from evaluation.rescore_data import rescore_samples
    from .bottomup import coco_images, predict_results
    from .evaluator import keypoint_benchmark
    spec = get_spec(spec)
    coco, image_ids = coco_images(source)
    if max_images is not None:
        image_ids = image_ids[:int(max_images)]
    bench = keypoint_benchmark(source)
    bench.check_spec(spec)
    results = predict_results(model, coco, image_ids, codec, normalize, spec, device, flip, scales, flip_shift,
                              None, progress)
    if not results:
        raise ValueError(f"rescore data: the model detected no pose on the {len(image_ids)} images of "
                         f"{coco.ann_file}; train the pose model first")
    gt = coco.coco.dataset if bench.name == "crowdpose" else coco.coco
    poses, oks = rescore_samples(gt, results, sigmas=spec, benchmark=bench.name)
    return {"poses": poses, "oks": oks, "results": results, "images": len(image_ids)}


def fit_rescore_net(poses: np.ndarray, oks: np.ndarray, spec, epochs: int = 20, lr: float = 1e-3,
                    batch_size: int = 1024, hidden: int = 256, one_to_zero: bool = True, seed: int = 0,
                    device="cpu", log: Optional[Callable[[int, float], None]] = None
                    ) -> Tuple[torch.nn.Module, List[float]]:
    """Train a rescore net on ``poses (N, K, 3)`` -> ``oks (N,)``; returns ``(net, mean loss per epoch)``.

    ``seed`` seeds the weight initialisation (torch) and the per-epoch permutations (numpy).
    """
    from ..models.dekr import rescore_features
    poses = np.asarray(poses, np.float64)
    y = np.asarray(oks, np.float64).reshape(-1).copy()
    if poses.ndim != 3 or poses.shape[0] != y.shape[0] or poses.shape[0] == 0:
        raise ValueError(f"rescore training needs (N, K, 3) poses and N targets with N > 0, got "
                         f"{poses.shape} and {y.shape}")
    if not np.isfinite(poses).all() or not np.isfinite(y).all():
        raise ValueError("rescore training data holds non-finite values")
    for name, v in (("epochs", epochs), ("batch_size", batch_size), ("hidden", hidden)):
        if int(v) < 1:
            raise ValueError(f"rescore {name} must be >= 1, got {v}")
    if not lr > 0:
        raise ValueError(f"rescore lr must be > 0, got {lr}")
    if one_to_zero:
        y[y == 1.0] = 0.0
    torch.manual_seed(seed)
    rng = np.random.RandomState(seed)
    net = build_rescore_net(spec, hidden).to(device)
    x = rescore_features(poses, net.limbs, net.norm_limbs).to(device)
    t = torch.as_tensor(y, dtype=torch.float32, device=device)[:, None]
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    loss_fn = torch.nn.MSELoss(reduction="mean")
    n = x.shape[0]
    steps = max(1, n // int(batch_size))
    losses = []
    for epoch in range(int(epochs)):
        net.train()
        index = rng.permutation(n)
        total = 0.0
        for i in range(steps):
            idx = torch.as_tensor(index[i * batch_size:(i + 1) * batch_size], device=device)
            opt.zero_grad()
            loss = loss_fn(net(x[idx]), t[idx])
            if not torch.isfinite(loss):
                raise FloatingPointError(f"rescore training: non-finite loss at epoch {epoch + 1}")
            loss.backward()
            opt.step()
            total += float(loss.detach())
        losses.append(total / steps)
        if log:
            log(epoch + 1, losses[-1])
    return net.eval(), losses
