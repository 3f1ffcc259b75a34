"""Confidence-threshold curriculum of CC-SSL.

All joint confidences are pooled, a 0 is prepended, the list is sorted and the
threshold is ``sorted[int(p * len)]`` with ``p = 1 - rate * (epoch + start)``
floored at ``floor``; a joint is kept (weight 1) when ``conf > threshold``.
Defaults keep the top 20 % at epoch 0, 40 % at 10, 60 % at 20, 80 % from 30.
"""
from __future__ import annotations

from typing import Tuple

import numpy as np


def quantile_p(epoch: int, start: float = 10, rate: float = 0.02, floor: float = 0.2) -> float:
    """``p = 1 - rate * (epoch + start)``; ``p = floor`` when ``p <= floor``."""
    p = 1 - rate * (epoch + start)
    if p <= floor:
        p = floor
    return p


def confidence_threshold(confidences, epoch: int, start: float = 10, rate: float = 0.02,
                         floor: float = 0.2) -> float:
    """Threshold of the epoch over ``confidences`` (any shape): ``sort([0, *conf])[int(p * (n + 1))]``."""
    pooled = np.sort(np.concatenate([[0.0], np.asarray(confidences, np.float64).reshape(-1)]))
    idx = int(quantile_p(epoch, start, rate, floor) * pooled.shape[0])
    return float(pooled[min(idx, pooled.shape[0] - 1)])


def curriculum_weights(confidences, epoch: int, start: float = 10, rate: float = 0.02,
                       floor: float = 0.2) -> Tuple[np.ndarray, float]:
    """``weights`` (float32, shape of ``confidences``; 1 where ``conf > threshold``) and ``threshold``."""
    conf = np.asarray(confidences, np.float64)
    thr = confidence_threshold(conf, epoch, start, rate, floor)
    return (conf > thr).astype(np.float32), thr
