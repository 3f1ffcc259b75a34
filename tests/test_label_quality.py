"""Scoring pseudo-labels against hidden target labels: hand-computed counts and the `labels` command."""
import json
import os

import numpy as np
import pytest

from animalpose.cli import main
from animalpose.engine.config import load_experiment, save_experiment
from ccssl.label_quality import round_summary, score_labels
from ccssl.pseudo_labels import PseudoLabels

# 3 instances x 4 joints on a line, joints 0 and 1 a left/right pair, threshold 1 px
FLIP = np.array([1, 0, 2, 3])
GT = np.array([[[0, 0], [10, 0], [20, 0], [30, 0]]] * 3, np.float64)
VIS = np.array([[1, 1, 1, 1], [1, 1, 1, 0], [1, 0, 1, 1]], bool)
LAB = np.array([
    [[10, 0.5], [10, 0], [25, 0], [30, 0.5]],   # j0 sits on j1 (swap), j1 right, j2 wrong, j3 right
    [[0, 0], [0, 0.2], [20, 0], [99, 99]],      # j0 right, j1 sits on j0 (swap), j2 right, j3 not visible
    [[10, 0], [50, 50], [20, 0], [30, 0]],      # j0 on its partner, but the partner is not visible: wrong only
], np.float64)
KEPT = np.array([[1, 0, 1, 0], [0, 1, 0, 1], [0, 0, 0, 0]], bool)


def test_score_labels_hand_counts():
    s = score_labels(LAB, GT, VIS, KEPT, FLIP, threshold=1.0)
    nan = np.nan
    expect = {  # per joint fraction, counts
        "correct": ([1 / 3, 1 / 2, 2 / 3, 1.0], [3, 2, 3, 2]),
        "swapped": ([1 / 3, 1 / 2, 0.0, 0.0], [3, 2, 3, 2]),
        "kept_share": ([1 / 3, 1 / 2, 1 / 3, 0.0], [3, 2, 3, 2]),
        "kept_correct": ([0.0, 0.0, 0.0, nan], [1, 1, 1, 0]),   # the kept j3 of instance 1 is not visible
        "kept_swapped": ([1.0, 1.0, 0.0, nan], [1, 1, 1, 0]),
    }
    assert set(s) == set(expect)
    for name, (frac, counts) in expect.items():
        np.testing.assert_allclose(s[name]["per_joint"], frac, err_msg=name)
        np.testing.assert_array_equal(s[name]["counts"], counts, err_msg=name)
    pooled = round_summary(s)
    assert pooled["correct"] == pytest.approx(6 / 10) and pooled["swapped"] == pytest.approx(2 / 10)
    assert pooled["kept_share"] == pytest.approx(3 / 10) and pooled["kept_correct"] == 0.0
    assert pooled["kept_swapped"] == pytest.approx(2 / 3)
    rep = score_labels(LAB, GT, VIS, KEPT, FLIP, 1.0, replaced=~KEPT)["replaced_correct"]
    np.testing.assert_allclose(rep["per_joint"], [1 / 2, 1.0, 1.0, 1.0])   # j0: inst 1 right, inst 2 wrong
    np.testing.assert_array_equal(rep["counts"], [2, 1, 2, 2])


def test_score_labels_rejects_bad_shapes():
    with pytest.raises(ValueError, match="visible has shape"):
        score_labels(LAB, GT, VIS[:2], KEPT, FLIP, 1.0)
    with pytest.raises(ValueError, match="flip_index has shape"):
        score_labels(LAB, GT, VIS, KEPT, np.array([1, 0]), 1.0)
    with pytest.raises(ValueError, match="threshold must be > 0"):
        score_labels(LAB, GT, VIS, KEPT, FLIP, 0.0)


def test_labels_command_scores_a_run(animal_data, tmp_path, capsys):
    root, _ = animal_data
    from animalpose.engine.data import build_source
    cfg = load_experiment("demo_ccssl", [f"train_data.root={root}", f"val_data.root={root}",
                                         f"ccssl.target_data.root={root}", "codec.input_size=[64, 64]",
                                         "codec.heatmap_size=[16, 16]"])
    run = tmp_path / "run"
    os.makedirs(run / "ssl_labels")
    save_experiment(cfg, str(run / "config.yaml"))
    src = build_source(cfg.ccssl.target_data)
    gt = np.stack([np.asarray(src.annotation(i).keypoints, np.float64) for i in range(len(src))])
    n, k = gt.shape[:2]
    vis = gt[..., 2] > 0
    m = np.tile(np.array([[2.0, 0.0, -5.0], [0.0, 2.0, 7.0]]), (n, 1, 1))   # image -> crop
    kp = gt[..., :2] * 2 + [-5.0, 7.0]
    kp[0] += 1000.0                                                          # instance 0 wrong everywhere
    w = np.zeros((n, k), np.float32)
    w[:, 2] = 1                                                              # only the chin is kept
    PseudoLabels(kp.astype(np.float32), np.ones((n, k), np.float32), w, m.astype(np.float32),
                 np.zeros((n, k), bool), 0.5, 3).save(str(run / "ssl_labels" / "round_003.npz"))
    assert main(["labels", "--run", str(run)]) == 0
    assert "round_003" in capsys.readouterr().out
    q = run / "label_quality"
    (row,) = json.loads((q / "rounds.json").read_text())["rounds"]
    assert row["epoch"] == 3 and row["replaced"] == 0 and row["replaced_correct"] is None
    assert row["correct"] == pytest.approx(100 * vis[1:].sum() / vis.sum(), abs=0.01)
    assert row["kept"] == pytest.approx(100 * vis[:, 2].sum() / vis.sum(), abs=0.01)
    assert row["kept_correct"] == pytest.approx(100 * vis[1:, 2].sum() / vis[:, 2].sum(), abs=0.01)
    assert row["swapped"] == 0.0
    per = json.loads((q / "round_003.json").read_text())["methods"]
    assert per["correct"]["per_joint"]["l_eye"] == pytest.approx(100 * vis[1:, 0].sum() / vis[:, 0].sum())
    assert per["kept_share"]["per_joint"]["chin"] == 100.0 and per["kept_share"]["per_joint"]["hip"] == 0.0
    for f in ("round_003.md", "round_003.csv", "round_003.png", "rounds.md", "rounds.csv"):
        assert (q / f).is_file(), f
    # a labels file of another data set is refused, naming the file
    PseudoLabels(kp[:-1].astype(np.float32), np.ones((n - 1, k), np.float32), w[:-1], m[:-1].astype(np.float32),
                 np.zeros((n - 1, k), bool), 0.5, 0).save(str(tmp_path / "other.npz"))
    assert main(["labels", "--run", str(run), "--labels", str(tmp_path / "other.npz")]) == 1
    err = capsys.readouterr().err
    assert "other.npz" in err and f"target set has {n} x {k}" in err
    assert main(["labels", "--run", str(tmp_path)]) == 1
    assert "no config.yaml" in capsys.readouterr().err
