"""Generic PCK / curve / AUC / EPE and normalisers, hand-computed."""
import math

import numpy as np
import pytest

from evaluation.pck import (auc, bbox_max_side, bbox_sqrt_area, curve_auc, epe, joint_distance, keypoint_bbox,
                            normalized_distances, pck, pck_curve)

# 2 samples x 3 joints; errors (pixels):
#   sample 0 (norm 100): j0 (6, 8) -> 10 -> 0.10, j1 (3, 0) -> 0.03, j2 not visible
#   sample 1 (norm 50):  j0 (0, 4) -> 0.08,       j1 (3, 4) -> 5 -> 0.10, j2 0 -> 0
GT = np.array([[[10, 10], [20, 20], [30, 30]], [[50, 50], [60, 60], [70, 70]]], float)
PRED = GT + np.array([[[6, 8], [3, 0], [99, 99]], [[0, 4], [3, 4], [0, 0]]], float)
VIS = np.array([[True, True, False], [True, True, True]])
NORM = np.array([100.0, 50.0])


def test_normalized_distances():
    d = normalized_distances(PRED, GT, VIS, NORM)
    np.testing.assert_allclose(d, [[0.1, 0.03, np.nan], [0.08, 0.1, 0.0]], equal_nan=True)


def test_pck_per_joint_and_pooled_mean():
    r = pck(PRED, GT, VIS, NORM, alpha=0.1)
    # a distance equal to alpha is not correct (strict <, like the reference dist_acc)
    np.testing.assert_allclose(r["per_joint"], [0.5, 0.5, 1.0])
    np.testing.assert_array_equal(r["counts"], [2, 2, 1])
    assert r["mean"] == pytest.approx(3 / 5)
    r2 = pck(PRED, GT, VIS, NORM, alpha=0.05)
    np.testing.assert_allclose(r2["per_joint"], [0.0, 0.5, 1.0])
    assert r2["mean"] == pytest.approx(2 / 5)


def test_per_axis_norm_and_excluded_samples():
    # (N, 2) norm divides x and y separately: sample 0 j0 (6/100, 8/10) -> far
    d = normalized_distances(PRED, GT, VIS, np.array([[100.0, 10.0], [50.0, 50.0]]))
    assert d[0, 0] == pytest.approx(math.hypot(0.06, 0.8))
    # a non-positive norm removes the whole sample; a joint never counted is NaN
    r = pck(PRED, GT, VIS, np.array([0.0, 50.0]), alpha=0.1)
    np.testing.assert_array_equal(r["counts"], [1, 1, 1])
    np.testing.assert_allclose(r["per_joint"], [1.0, 0.0, 1.0])
    r = pck(PRED, GT, np.zeros_like(VIS), NORM)
    assert np.isnan(r["per_joint"]).all() and math.isnan(r["mean"])


def test_curve_and_auc():
    alphas = [0.0, 0.05, 0.1, 0.2]
    c = pck_curve(PRED, GT, VIS, NORM, alphas)
    # normalised errors 0.1, 0.03, 0.08, 0.1, 0: none < 0; two < 0.05; three < 0.1; all < 0.2
    np.testing.assert_allclose(c["pck"], [0, 2 / 5, 3 / 5, 1])
    np.testing.assert_allclose(c["per_joint"][2], [0.5, 0.5, 1.0])
    # trapezoids: 0.05*(0+0.4)/2 + 0.05*(0.4+0.6)/2 + 0.1*(0.6+1)/2 = 0.115, over a span of 0.2
    assert auc(PRED, GT, VIS, NORM, alphas) == pytest.approx(0.575)
    assert curve_auc([0, 1], [1, 1]) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        curve_auc([0.1], [1.0])


def test_epe():
    # visible errors 10, 3, 4, 5, 0
    assert epe(PRED, GT, VIS) == pytest.approx(22 / 5)
    assert math.isnan(epe(PRED, GT, np.zeros_like(VIS)))


def test_normalisers():
    boxes = np.array([[0, 0, 30, 40], [5, 5, 10, 2]], float)
    np.testing.assert_allclose(bbox_max_side(boxes), [40, 10])
    np.testing.assert_allclose(bbox_sqrt_area(boxes), [math.sqrt(1200), math.sqrt(20)])
    kp = np.array([[[1, 2, 1], [5, 9, 1], [100, 100, 0]], [[0, 0, 0], [0, 0, 0], [0, 0, 0]]], float)
    np.testing.assert_allclose(keypoint_bbox(kp), [[1, 2, 4, 7], [0, 0, 0, 0]])
    np.testing.assert_allclose(joint_distance(GT, 0, 1), [math.hypot(10, 10)] * 2)
    with pytest.raises(ValueError, match="norm"):
        pck(PRED, GT, VIS, np.ones(3))
