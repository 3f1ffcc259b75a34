"""Ground-truth maps of the CC-SSL and UDA protocols (which joints are drawn)."""
import numpy as np

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
