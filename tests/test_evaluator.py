"""Ground-truth maps of the CC-SSL and UDA protocols (which joints are drawn) and the pck-bbox normaliser."""
import numpy as np
import pytest

from animalpose.codecs import BearpawHeatmap
from animalpose.engine.evaluator import _ProtocolTargets


def test_ccssl_draws_labelled_joints_and_uda_only_whole_windows():
    codec = BearpawHeatmap((64, 64), (16, 16), sigma=1.0)
    # input px: stride 4; heatmap points 8 (inside), 1 (window leaves the map), 14 (window ends at 17 > 15)
    kp = np.array([[[32, 32, 1], [4, 32, 1], [56, 32, 1], [32, 32, 1]]], np.float64)
    src = np.array([[[10, 5, 1], [10, 5, 1], [10, 5, 1], [10, 0, 1]]], np.float64)   # last: no label (y = 0)
    drawn = lambda t: t.encode_with_source(kp, src)["heatmaps"][0].max(axis=(1, 2)) > 0
    np.testing.assert_array_equal(drawn(_ProtocolTargets(codec, whole_window=False)), [True, True, True, False])
    np.testing.assert_array_equal(drawn(_ProtocolTargets(codec, whole_window=True)), [True, False, False, False])


def test_pck_bbox_normalises_by_the_longer_side_of_x1y1x2y2_boxes():
    from animalpose.engine.evaluator import pck_bbox
    # one instance, box x 100..140, y 100..120: longer side 40 (not max(x2, y2) = 140)
    gt = np.array([[[110.0, 110.0, 1], [130.0, 105.0, 1], [0.0, 0.0, 0]]])
    preds = np.array([[[113.0, 110.0], [130.0, 106.0], [50.0, 50.0]]])   # 3 px (0.075) and 1 px (0.025) off
    box = np.array([[100.0, 100.0, 140.0, 120.0]])
    r = pck_bbox(preds, gt, box, 0.05)
    np.testing.assert_allclose(r["per_joint"][:2], [0.0, 1.0])
    assert r["mean"] == pytest.approx(0.5) and r["epe"] == pytest.approx(2.0)
    assert pck_bbox(preds, gt, box, 0.1)["mean"] == pytest.approx(1.0)
    # boxes=None: the tight box of the visible joints, x 110..130, y 105..110 -> side 20
    r = pck_bbox(preds, gt, None, 0.1)   # 3 px = 0.15 (miss), 1 px = 0.05 (hit)
    np.testing.assert_allclose(r["per_joint"][:2], [0.0, 1.0])
