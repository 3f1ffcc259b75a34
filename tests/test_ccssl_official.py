"""The official CC-SSL behaviours offered as options (issue 19): per-image views, the temporal
confidence side effect, required split files, mean files, antialiased crops, mean-grey padding,
crop-context target samples and test-set selection naming."""
import json
import os

import cv2
import numpy as np
import pytest
import torch

from animalpose.engine.config import CCSSLConfig, DataConfig, load_experiment
from animalpose.engine.data import build_source, read_mean_file
from animalpose.transforms import Normalize
from animalpose.transforms.resample import warp_antialiased, zoom_of
from ccssl.pseudo_labels import PseudoLabels, padding_value, recrop, view_transforms
from ccssl.temporal import temporal_refine
from datasets.errors import DatasetFormatError


def test_views_are_drawn_per_image_or_once_per_batch():
    cfg = CCSSLConfig(views="image")
    s, r = view_transforms(np.random.default_rng(5), 3, 5, cfg)
    assert s.shape == r.shape == (3, 5)
    np.testing.assert_array_equal(s[:, 0], 1.0) and np.testing.assert_array_equal(r[:, 0], 0.0)
    assert len({tuple(row) for row in r[:, 1:]}) == 3                  # each image its own draw
    # the draws are the per-image sequence of one generator: image k = the k-th sample_transforms call
    from ccssl.equivariance import sample_transforms
    g = np.random.default_rng(5)
    for k in range(3):
        ek, rk = sample_transforms(g, 5, 0.25, 30.0)
        np.testing.assert_array_equal(s[k], ek) and np.testing.assert_array_equal(r[k], rk)
    sb, rb = view_transforms(np.random.default_rng(5), 3, 5, CCSSLConfig(views="batch"))
    assert (rb == rb[0]).all() and (sb == sb[0]).all()
    with pytest.raises(ValueError, match="ccssl.views"):
        CCSSLConfig(views="shot")


def _moving_blob_frames():
    """Three 128x128 frames of a smooth blob (sigma 12 px) at x = 50, 53, then 71 (an 18 px jump)."""
    yy, xx = np.mgrid[0:128, 0:128]
    return [(255 * np.exp(-((xx - cx) ** 2 + (yy - 64) ** 2) / (2 * 12.0 ** 2))).astype(np.uint8)
            for cx in (50, 53, 71)]


def test_flow_side_effect_zeroes_the_previous_frames_confidence():
    grays = _moving_blob_frames()
    kp = np.array([[[50.0, 64.0]], [[53.0, 64.0]], [[10.0, 10.0]]])     # one joint, (N, K, 2)
    conf = np.array([[0.8], [0.75], [0.1]])                          # 0.75 / 0.8 >= 0.9: frame 1 keeps its own
    prev = np.array([-1, 0, 1])
    _, c_ref, _ = temporal_refine(kp, conf, grays, prev, max_displacement=15.0, side_effect=True)
    _, c_fix, _ = temporal_refine(kp, conf, grays, prev, max_displacement=15.0, side_effect=False)
    # frame 1 -> 2: LK follows the blob 18 px (> 15): the flowed point is rejected
    assert c_fix[1, 0] == pytest.approx(0.75) and c_ref[1, 0] == 0.0      # the reference also zeroes frame 1
    assert c_ref[0, 0] == c_fix[0, 0] == pytest.approx(0.8)           # the 3 px move keeps frame 0 as it was
    assert c_ref[2, 0] == c_fix[2, 0] == pytest.approx(0.1)


def test_paper_configs_need_their_split_files(tmp_path, animal_data):
    root, _ = animal_data
    cfg = load_experiment("ccssl_adapt_horse", [f"val_data.root={tmp_path}"])
    assert cfg.val_data.split_dir == "official" and cfg.ccssl.target_data.split_dir == "official"
    os.symlink(os.path.join(root, "behaviorDiscovery2.0"), tmp_path / "behaviorDiscovery2.0")   # no real_animal/
    with pytest.raises(DatasetFormatError) as e:
        build_source(cfg.val_data)
    want = str(tmp_path / "real_animal" / "horse" / "valid_idxs_by_video.npy")
    assert str(e.value).startswith(f"{want}: TigDog split file not found") and "\n" not in str(e.value)
    # with the files (the rendered fixture has them) the official split is used and says so
    src = build_source(DataConfig(dataset="tigdog", root=root, animal="horse", split="test", split_dir="official"))
    assert src.split_source.endswith("real_animal/horse/valid_idxs_by_video.npy")
    seeded = build_source(DataConfig(dataset="tigdog", root=root, animal="horse", split="test"))
    assert seeded.split_source.startswith("seeded split by video")


def test_mean_file_legacy_format(tmp_path):
    path = str(tmp_path / "mean_by_video.pth.tar")
    torch.save({"mean": torch.tensor([0.5319, 0.5107, 0.4206]), "std": torch.tensor([0.1910, 0.1921, 0.1951])},
               path, _use_new_zipfile_serialization=False)
    mean, std = read_mean_file(path)
    np.testing.assert_allclose(mean, [0.5319, 0.5107, 0.4206], atol=1e-7)
    np.testing.assert_allclose(std, [0.1910, 0.1921, 0.1951], atol=1e-7)
    from animalpose.engine.config import NormalizeConfig
    from animalpose.engine.data import build_normalize
    n = build_normalize(NormalizeConfig(mean=(0.4, 0.4, 0.4), std=None, mean_file=path, bytescale=True))
    assert n.std is None and n.mean == mean                           # mean replaced, std stays off (bearpaw)
    torch.save({"avg": 1}, str(tmp_path / "bad.pth"))
    with pytest.raises(ValueError, match="bad.pth: a mean file holds"):
        read_mean_file(str(tmp_path / "bad.pth"))
    assert load_experiment("ccssl_real_horse").normalize.mean == (0.5319, 0.5107, 0.4206)


def test_antialiased_crop_filters_what_cv2_aliases():
    board = (np.indices((256, 256)).sum(0) % 2 * 255).astype(np.uint8)      # 1-px checkerboard, mean 127.5
    img = np.repeat(board[..., None], 3, 2)
    m = np.array([[0.25, 0.0, 0.0], [0.0, 0.25, 0.0]])                      # shrink x4 onto 64x64
    assert zoom_of(m) == pytest.approx(0.25)
    plain = cv2.warpAffine(img, m, (64, 64), flags=cv2.INTER_LINEAR)
    smooth = warp_antialiased(img, m, (64, 64))
    assert plain.max() == 0                          # every sample lands on an even (black) pixel: aliased to black
    inner = smooth[2:-2, 2:-2]                       # away from the zero border
    assert inner.std() < 5 and abs(float(inner.mean()) - 127.5) < 3
    up = np.array([[2.0, 0.0, -10.0], [0.0, 2.0, -4.0]])                   # zoom >= 1: cv2 exactly
    np.testing.assert_array_equal(warp_antialiased(img, up, (64, 64)), cv2.warpAffine(img, up, (64, 64)))


def test_recrop_padding_is_the_mean_grey():
    norm = Normalize(mean=(0.4038, 0.3956, 0.3925), std=None)
    pad = padding_value(norm, "mean")
    assert pad == (103.0, 101.0, 100.0)                               # rint(255 * mean)
    img = np.full((8, 8, 3), 200, np.uint8)
    shift = np.array([[1.0, 0.0, 4.0], [0.0, 1.0, 0.0]])               # moves the crop 4 px right
    out = recrop(img, shift, (8, 8), pad)
    assert tuple(out[3, 0]) == pad and tuple(out[3, 7]) == (200, 200, 200)
    x = norm(out)
    assert abs(float(x[:, 3, 0].abs().max())) < 0.003                 # the network sees ~0 on the border
    assert tuple(recrop(img, shift, (8, 8), padding_value(norm, "black"))[3, 0]) == (0, 0, 0)


def test_crop_context_target_samples(animal_data):
    from ccssl.trainer import CropContextSource
    root, _ = animal_data
    src = build_source(DataConfig(dataset="tigdog", root=root, animal="horse", split="train", split_dir="official"))
    n = len(src)
    mats = np.stack([np.array([[0.5, 0.0, 3.0], [0.0, 0.5, 1.0]])] * n)
    kp = np.tile(np.array([[10.0, 20.0], [30.0, 40.0]]), (n, 9, 1))[:, :18]
    labels = PseudoLabels(kp.astype(np.float32), np.ones((n, 18), np.float32), np.ones((n, 18), np.float32), mats,
                          np.zeros((n, 18), bool))
    ctx = CropContextSource(src, labels, "tigdog18", (64, 48))
    s = ctx[0]
    assert s.image.shape == (48, 64, 3)
    np.testing.assert_array_equal(s.center, [32, 24]) and np.testing.assert_allclose(s.scale, [0.32, 0.24])
    np.testing.assert_array_equal(s.keypoints[:2], [[10, 20, 1], [30, 40, 1]])   # crop px, v = curriculum weight
    frame = src[0].image
    np.testing.assert_array_equal(s.image, cv2.warpAffine(frame, mats[0], (64, 48), flags=cv2.INTER_LINEAR))


def test_selection_on_the_test_set_is_named(tmp_path, animal_data):
    from animalpose.cli import main
    root, _ = animal_data
    out = str(tmp_path / "real")
    small = ["--set", "model.options={stacks: 1, blocks: 1, features: 16}", "--set", "codec.input_size=[64, 64]",
             "--set", "codec.heatmap_size=[16, 16]", "--set", "train.batch_size=4", "--set", "train_data.limit=8",
             "--set", "val_data.limit=6", "--set", "train.epochs=2", "--set", "train.workers=0"]
    assert main(["pretrain", "--config", "ccssl_real_horse", "--set", f"train_data.root={root}",
                 "--set", f"val_data.root={root}", *small, "--out", out, "--quiet", "--device", "cpu"]) == 0
    assert os.path.isfile(os.path.join(out, "best_on_test.pt")) and not os.path.isfile(os.path.join(out, "best.pt"))
    sel = json.load(open(os.path.join(out, "selection.json")))
    assert sel["selected_on"] == "test" and sel["last"]["epoch"] == 2 and sel["last"]["checkpoint"] == "last.pt"
    hist = json.load(open(os.path.join(out, "history.json")))
    assert sel["best_on_test"]["ccssl"] == max(r["ccssl"] for r in hist)
    assert sel["last"]["ccssl"] == hist[-1]["ccssl"]
