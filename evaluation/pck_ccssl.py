"""CC-SSL heatmap PCK@0.05, exactly as the CC-SSL / UDA test scripts compute it.

The protocol (``animal_da_protocols.md`` 1b and 2):

* prediction **and** ground truth are the per-joint argmax of a heatmap
  (the GT one of the rendered target map), as 1-based integer ``(x, y)``;
  a joint whose map maximum is ``<= 0`` sits at ``(0, 0)``;
* ``dist = ||pred - gt|| / (W / 10)`` (``W`` = heatmap width, 6.4 at 64x64);
  a joint is ignored (``dist = -1``) unless GT ``x > 1`` **and** ``y > 1``;
* per batch (test batch 6, ``shuffle=False``) each joint's accuracy is the
  fraction of its non-ignored samples with ``dist < thr`` (0.5, i.e. 0.05 of
  the map width), ``-1`` when it has none; the batch mean ``acc[0]`` averages
  the joints with an accuracy ``>= 0`` and stays **0** when no joint of the
  batch is valid;
* per-joint PCK is the mean of that joint's batch accuracies over the batches
  where it was valid (a mean of batch means, not a pooled mean), the printed
  mean is ``AverageMeter.update(acc[0], batch_size)`` (a batch without any
  valid joint still enters it, with value 0), and a UDA group score is
  ``sum(pck * count) / sum(count)`` over the group's joints (counts are
  batches).

All values here are fractions in ``[0, 1]``; reports convert to percent.
Targets are expected in canonical joint order (the TigDog tiger remap is
applied by the loader).  To score a subset of joints, slice the channels of
both maps first (``hm[:, idx]``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Sequence

import numpy as np

from animalpose.arrays import argmax_1based, as_numpy

__all__ = [
    "heatmap_argmax_1based", "batch_distances", "batch_accuracy", "BatchAccuracy",
    "CCSSLAccumulator", "ccssl_pck", "reference_auc", "group_scores", "DEFAULT_CURVE_ALPHAS",
]


#: Thresholds (fractions of the heatmap width) of the curve in :meth:`CCSSLAccumulator.result`.
DEFAULT_CURVE_ALPHAS = tuple(round(0.005 * i, 6) for i in range(21))


def _check_maps(hm: np.ndarray, name: str) -> np.ndarray:
    if hm.ndim != 4:
        raise ValueError(f"{name}: expected heatmaps of shape (N, K, H, W), got {hm.shape}")
    return hm


def heatmap_argmax_1based(heatmaps) -> np.ndarray:
    """``(N, K, H, W)`` maps -> ``(N, K, 2)`` float 1-based integer ``(x, y)`` of the maximum.

    ``x = idx % W + 1``, ``y = idx // W + 1`` with ``idx`` the first flat
    argmax; joints whose maximum is ``<= 0`` get ``(0, 0)`` (bearpaw
    ``get_preds``).
    """
    coords, _ = argmax_1based(_check_maps(as_numpy(heatmaps), "heatmaps"))
    return coords.astype(np.float64)


def batch_distances(pred_hm, target_hm) -> np.ndarray:
    """``(K, N)`` normalised distances between the argmaxes of two ``(N, K, H, W)`` stacks.

    ``||pred - gt|| / (W / 10)``; ``-1`` where the GT argmax has ``x <= 1`` or
    ``y <= 1`` (no target, or on the first row / column).
    """
    pred = _check_maps(as_numpy(pred_hm), "pred_hm")
    target = _check_maps(as_numpy(target_hm), "target_hm")
    if pred.shape != target.shape:
        raise ValueError(f"pred_hm {pred.shape} and target_hm {target.shape} differ in shape")
    p = heatmap_argmax_1based(pred)
    g = heatmap_argmax_1based(target)
    norm = pred.shape[3] / 10.0
    d = np.sqrt(((p - g) ** 2).sum(axis=-1)) / norm
    valid = (g[..., 0] > 1) & (g[..., 1] > 1)
    return np.where(valid, d, -1.0).T


@dataclass(frozen=True)
class BatchAccuracy:
    """PCK of one batch, in the layout of the reference ``accuracy``.

    Attributes:
        mean: ``acc[0]``, mean of the valid joints' accuracies; 0.0 when no
            joint of the batch has a valid sample.
        per_joint: ``(K,)`` fraction of valid samples with ``dist < thr``;
            ``-1`` for joints without a valid sample.
        valid: ``(K,)`` bool, joint had at least one valid sample.
        dists: ``(K, N)`` output of :func:`batch_distances`.
    """

    mean: float
    per_joint: np.ndarray
    valid: np.ndarray
    dists: np.ndarray

    @property
    def acc(self) -> np.ndarray:
        """``(K + 1,)`` reference vector ``[mean, acc_1, ..., acc_K]``."""
        return np.concatenate([[self.mean], self.per_joint])


def batch_accuracy(pred_hm, target_hm, thr: float = 0.5) -> BatchAccuracy:
    """Reference ``accuracy(output, target, idxs=all, thr)`` on one batch of maps."""
    dists = batch_distances(pred_hm, target_hm)
    counted = dists != -1
    n_valid = counted.sum(axis=1)
    n_hit = ((dists < thr) & counted).sum(axis=1)
    valid = n_valid > 0
    per_joint = np.where(valid, n_hit / np.maximum(n_valid, 1), -1.0)
    mean = float(per_joint[valid].mean()) if valid.any() else 0.0
    return BatchAccuracy(mean=mean, per_joint=per_joint, valid=valid, dists=dists)


def group_scores(per_joint: np.ndarray, counts: np.ndarray, groups: Dict[str, Sequence[int]]) -> Dict[str, float]:
    """UDA group score ``sum(pck * count) / sum(count)`` per group (NaN for a group never counted).

    Joints with count 0 (NaN PCK) contribute nothing.
    """
    pj = np.nan_to_num(np.asarray(per_joint, dtype=np.float64), nan=0.0)
    c = np.asarray(counts, dtype=np.float64)
    out = {}
    for name, idx in groups.items():
        idx = list(idx)
        tot = c[idx].sum()
        out[name] = float((pj[idx] * c[idx]).sum() / tot) if tot > 0 else float("nan")
    return out


def reference_auc(dists: np.ndarray) -> float:
    """Reference ``calc_metrics`` AUC of a ``(K, N)`` distance matrix, as a fraction.

    Thresholds ``t_i = i / 99`` for ``i = 1..80`` (``linspace(0, 1, 100)[1:81]``,
    so up to 0.808 in ``W / 10`` units); the value is the mean over them of the
    pooled fraction of valid distances ``< t_i``.  The reference prints
    ``round(100 * value, 2)``.  NaN when no distance is valid.
    """
    d = np.asarray(dists, dtype=np.float64)
    err = d[d != -1]
    if err.size == 0:
        return float("nan")
    t = np.linspace(0.0, 1.0, 100)[1:81]
    return float((err[None, :] < t[:, None]).mean(axis=1).mean())


class CCSSLAccumulator:
    """Accumulates :func:`batch_accuracy` over consecutive test batches.

    ``update(pred_hm, target_hm)`` takes one ``(B, K, H, W)`` batch of output
    and target maps (the last stack of the network, flip already merged);
    ``result()`` gives the CC-SSL numbers.  ``spec`` (a name or a
    ``KeypointSpec``) adds joint names and the spec's report groups.
    """

    def __init__(self, spec=None, thr: float = 0.5):
        self.thr = float(thr)
        self.spec = None
        if spec is not None:
            from animalpose.keypoints import get_spec
            self.spec = get_spec(spec)
        self.reset()

    def reset(self) -> None:
        self._score: Optional[np.ndarray] = None   # sum of batch accuracies per joint
        self._count: Optional[np.ndarray] = None   # batches where the joint was valid
        self._mean_sum = 0.0                        # AverageMeter.sum
        self._samples = 0                           # AverageMeter.count
        self._batches = 0
        self._dists = []

    def update(self, pred_hm, target_hm) -> BatchAccuracy:
        b = batch_accuracy(pred_hm, target_hm, self.thr)
        k, n = b.dists.shape
        if self._score is None:
            if self.spec is not None and self.spec.num_joints != k:
                raise ValueError(f"spec {self.spec.name} has {self.spec.num_joints} joints, maps have {k}")
            self._score = np.zeros(k)
            self._count = np.zeros(k, dtype=np.int64)
        elif k != self._score.shape[0]:
            raise ValueError(f"batch has {k} joints, earlier batches had {self._score.shape[0]}")
        self._score += np.where(b.valid, b.per_joint, 0.0)
        self._count += b.valid
        self._mean_sum += b.mean * n
        self._samples += n
        self._batches += 1
        self._dists.append(b.dists)
        return b

    @property
    def dists(self) -> np.ndarray:
        """``(K, N_total)`` distances of every sample seen so far (``-1`` = ignored)."""
        if not self._dists:
            return np.zeros((0, 0))
        return np.concatenate(self._dists, axis=1)

    def curve(self, alphas: Sequence[float]) -> np.ndarray:
        """Pooled PCK at thresholds ``alpha * W`` (``alpha = 0.05`` is the PCK@0.05 threshold).

        Pooled over every valid joint instance (like ``calc_metrics``), so at
        0.05 it is close to, not equal to, the batch-averaged ``mean``.
        """
        d = self.dists
        err = d[d != -1]
        a = np.asarray(alphas, dtype=np.float64)
        if err.size == 0:
            return np.full(a.shape, np.nan)
        return (err[None, :] < 10.0 * a[:, None]).mean(axis=1)

    def result(self, curve_alphas: Optional[Sequence[float]] = DEFAULT_CURVE_ALPHAS) -> dict:
        """CC-SSL numbers (fractions).

        Returns a dict with ``per_joint`` ``(K,)`` (NaN for a joint never
        valid), ``counts`` ``(K,)`` (batches where the joint was valid),
        ``mean`` (sample-weighted mean of batch means, NaN before any update),
        ``groups`` (UDA group scores; only with a spec), ``joints`` (names;
        only with a spec), ``auc`` (:func:`reference_auc`), ``curve``
        (``{"alphas", "pck"}`` from :meth:`curve`; omitted when
        ``curve_alphas`` is None), ``num_samples``, ``num_batches``, ``thr``.
        """
        if self._score is None:
            raise ValueError("CCSSLAccumulator.result(): no batch was added (call update first)")
        with np.errstate(invalid="ignore", divide="ignore"):
            per_joint = np.where(self._count > 0, self._score / np.maximum(self._count, 1), np.nan)
        out = {
            "per_joint": per_joint,
            "counts": self._count.copy(),
            "mean": self._mean_sum / self._samples if self._samples else float("nan"),
            "auc": reference_auc(self.dists),
            "num_samples": self._samples,
            "num_batches": self._batches,
            "thr": self.thr,
        }
        if self.spec is not None:
            out["joints"] = list(self.spec.joints)
            if self.spec.groups:
                out["groups"] = group_scores(per_joint, self._count, self.spec.groups)
        if curve_alphas is not None:
            a = np.asarray(curve_alphas, dtype=np.float64)
            out["curve"] = {"alphas": a, "pck": self.curve(a)}
        return out


def ccssl_pck(pred_hm, target_hm, batch_size: int = 6, spec=None, thr: float = 0.5, **result_kw) -> dict:
    """CC-SSL PCK of a whole test set's ``(N, K, H, W)`` output and target maps.

    The maps are cut into consecutive batches of ``batch_size`` in the given
    order (``shuffle=False``, the last batch may be smaller), as the reference
    test loader does; the result depends on ``batch_size`` (6 upstream).
    """
    pred = _check_maps(as_numpy(pred_hm), "pred_hm")
    target = _check_maps(as_numpy(target_hm), "target_hm")
    if pred.shape != target.shape:
        raise ValueError(f"pred_hm {pred.shape} and target_hm {target.shape} differ in shape")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if pred.shape[0] == 0:
        raise ValueError("ccssl_pck: no samples (N = 0)")
    acc = CCSSLAccumulator(spec=spec, thr=thr)
    for s in range(0, pred.shape[0], batch_size):
        acc.update(pred[s:s + batch_size], target[s:s + batch_size])
    return acc.result(**result_kw)
