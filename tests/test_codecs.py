"""Heatmap codecs: round trips, hand-computed arrays, flip test, torch inputs, and
equality of the batched MSRA encode / DARK decode with per-joint loops."""
import importlib.util
import os

import cv2
import numpy as np
import pytest
import torch

from animalpose.codecs import (BearpawHeatmap, DarkHeatmap, MSRAHeatmap, UDPHeatmap, argmax_1based, build_codec,
                               list_codecs)
from animalpose.codecs import refine
from animalpose.keypoints import get_spec

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _bench():
    """scripts/bench_codecs.py, whose per-joint loops are the oracle here."""
    spec = importlib.util.spec_from_file_location("bench_codecs", os.path.join(ROOT, "scripts", "bench_codecs.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _keypoints(codec, n=4, k=17, margin=8.0, seed=0):
    """Random sub-pixel keypoints (input px) whose heatmap position is at least
    ``margin`` heatmap px from every border."""
    rng = np.random.default_rng(seed)
    w, h = codec.heatmap_size
    hm = np.stack([rng.uniform(margin, w - 1 - margin, (n, k)), rng.uniform(margin, h - 1 - margin, (n, k))], -1)
    return codec.to_input(hm)


# --------------------------------------------------------------------------- registry and checks
def test_registry_builds_every_codec():
    assert list_codecs() == ["bearpaw", "dark", "msra", "udp", "udp_combined"]
    kinds = {name: build_codec(name) for name in list_codecs()}
    assert isinstance(kinds["msra"], MSRAHeatmap) and isinstance(kinds["bearpaw"], BearpawHeatmap)
    assert kinds["udp"].target == "gaussian" and kinds["udp_combined"].target == "combined"
    assert build_codec("dark", heatmap_size=(24, 32), input_size=(96, 128)).heatmap_size == (24, 32)
    with pytest.raises(KeyError, match="unknown codec 'simcc'"):
        build_codec("simcc")


def test_bad_shapes_name_the_argument():
    c = MSRAHeatmap()
    with pytest.raises(ValueError, match="keypoints"):
        c.encode(np.zeros((17, 2)))
    with pytest.raises(ValueError, match="visibility"):
        c.encode(np.zeros((2, 17, 2)), np.ones((2, 16)))
    with pytest.raises(ValueError, match=r"heatmaps must have shape \(N, K, 64, 48\)"):
        c.decode(np.zeros((2, 17, 48, 64)))
    with pytest.raises(ValueError, match=r"3\*K"):
        UDPHeatmap(target="combined").decode(np.zeros((1, 17, 64, 48)))
    with pytest.raises(ValueError, match="input_size"):
        MSRAHeatmap(input_size=(192,))
    with pytest.raises(ValueError, match="target"):
        UDPHeatmap(target="offsets")
    with pytest.raises(ValueError, match="blur_kernel_size"):
        DarkHeatmap(blur_kernel_size=10)


# --------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("name", ["dark", "udp"])
def test_unbiased_round_trip_recovers_subpixel_keypoints(name):
    # sigma 2 on 48x64 maps, peaks >= 8 heatmap px from the borders, noiseless
    # targets: DARK and UDP recover the float keypoint within 0.05 heatmap px
    # (measured max ~4e-4 and ~1.3e-4).
    c = build_codec(name, sigma=2.0)
    kp = _keypoints(c, seed=1)
    dec, scores = c.decode(c.encode(kp)["heatmaps"])
    err = np.abs(dec - kp) / c.scale_factor                              # heatmap px
    assert err.max() < 0.05
    assert scores.shape == kp.shape[:2] and (scores > 0.9).all()


def test_udp_combined_round_trip_and_layout():
    c = build_codec("udp_combined")
    assert c.radius == pytest.approx(3.5)
    kp = _keypoints(c, seed=2)
    out = c.encode(kp)
    assert out["heatmaps"].shape == (4, 51, 64, 48)
    disk = out["heatmaps"][:, 0::3]
    assert set(np.unique(disk)) == {0.0, 1.0}
    assert (disk.sum(axis=(2, 3)) >= 30).all() and (disk.sum(axis=(2, 3)) <= 48).all()   # about pi * 3.5^2
    # UDP writes the offsets inside the disk only (the loss masks them with the class map)
    for i in (1, 2):
        assert not out["heatmaps"][:, i::3][disk == 0].any()
    # an ideal network output: linear offset fields everywhere (they survive the blur exactly)
    hm_kp = c.to_heatmap(kp)
    full = out["heatmaps"].copy()
    w, h = c.heatmap_size
    full[:, 1::3] = (hm_kp[..., 0, None, None] - np.arange(w)[None, None, None, :]) / c.radius
    full[:, 2::3] = (hm_kp[..., 1, None, None] - np.arange(h)[None, None, :, None]) / c.radius
    dec, _ = c.decode(full)
    assert np.abs(dec - kp).max() / c.scale_factor.min() < 1e-3


def test_udp_combined_keeps_the_weight_of_a_visible_joint_off_the_map():
    """UDP's target weight is the visibility even when the joint's disk misses the heatmap (its class
    map is then trained toward zero); combined_offmap_weight="zero" is the kit's earlier target."""
    c = build_codec("udp_combined")
    kp = np.array([[[100.0, 120.0, 1], [-60.0, 120.0, 1], [100.0, 120.0, 0]]])   # on, off the map, unlabelled
    out = c.encode_hm(c.to_heatmap(kp[..., :2]), kp[..., 2])
    np.testing.assert_array_equal(out[1], [[1.0, 1.0, 0.0]])
    assert out[0][0, 3:6].sum() == 0.0 and out[0][0, 0].sum() > 30
    zero = UDPHeatmap(target="combined", combined_offmap_weight="zero")
    np.testing.assert_array_equal(zero.encode_hm(zero.to_heatmap(kp[..., :2]), kp[..., 2])[1], [[1.0, 0.0, 0.0]])


def test_msra_round_trip_is_quantised_and_quarter_offset_bounds_error():
    # MSRA's own target is centred on mu = round(x_hm) and symmetric about it,
    # so the quarter offset is 0 and decode returns mu exactly: |error| <= 0.5
    # heatmap px.  On an unquantised Gaussian at x_hm (the ideal prediction)
    # the argmax is round(x_hm), d = x_hm - round(x_hm) in [-0.5, 0.5], and the
    # step 0.25 * sign(d) leaves | |d| - 0.25 | <= 0.25 heatmap px.
    c = MSRAHeatmap(sigma=2.0)
    kp = _keypoints(c, seed=3)
    hm_kp = c.to_heatmap(kp)
    dec, _ = c.decode_hm(c.encode(kp)["heatmaps"])
    np.testing.assert_array_equal(dec, np.floor(hm_kp + 0.5))
    assert np.abs(dec - hm_kp).max() <= 0.5
    ideal = DarkHeatmap(c.input_size, c.heatmap_size, 2.0).encode_hm(hm_kp, np.ones(kp.shape[:2]))[0]
    dec, _ = c.decode_hm(ideal)
    assert np.abs(dec - hm_kp).max() <= 0.25 + 1e-6


# --------------------------------------------------------------------------- hand-computed arrays
def test_msra_encode_equals_analytic_gaussian_on_tiny_map():
    c = MSRAHeatmap(input_size=(28, 20), heatmap_size=(7, 5), sigma=1.0)        # stride 4
    kp = np.array([[[10.2, 9.9], [-4.8, 2.0], [10.0, 9.0], [10.0, 9.0], [200.0, 9.0]]])
    vis = np.array([[2.0, 1.0, 0.0, 0.4, 1.0]])
    out = c.encode(kp, vis)
    ys, xs = np.mgrid[0:5, 0:7]
    # joint 0: x/4 + 0.5 = 3.05 -> 3, y: 2.975 -> 2; the 7x7 window covers the map
    np.testing.assert_allclose(out["heatmaps"][0, 0], np.exp(-((xs - 3) ** 2 + (ys - 2) ** 2) / 2.0), rtol=1e-7)
    # joint 1: x/4 + 0.5 = -0.7 truncates to 0 (int(), not floor): window x in [-3, 3]
    np.testing.assert_allclose(out["heatmaps"][0, 1], np.exp(-(xs ** 2 + (ys - 1) ** 2) / 2.0) * (xs <= 3),
                               rtol=1e-7)
    # joint 2: invisible; joint 3: weight 0.4 <= 0.5 is not drawn; joint 4: window off the map
    assert not out["heatmaps"][0, 2:].any()
    np.testing.assert_allclose(out["weights"], [[1.0, 1.0, 0.0, 0.4, 0.0]])


def test_quarter_offset_direction_and_border_rules():
    hm = np.zeros((1, 2, 6, 7), np.float32)
    hm[0, 0, 2, 3] = 1.0
    hm[0, 0, 2, 4] = 0.5          # right neighbour higher than the left one -> +0.25 in x
    hm[0, 0, 1, 3] = 0.5          # upper neighbour higher than the lower one -> -0.25 in y
    hm[0, 1, 3, 1] = 1.0          # peak in column 1
    hm[0, 1, 3, 2] = 0.5
    coords, maxvals = refine.get_max_preds(hm)
    np.testing.assert_array_equal(coords[0], [[3, 2], [1, 3]])
    np.testing.assert_allclose(refine.quarter_offset(hm, coords)[0], [[3.25, 1.75], [1, 3]])   # HRNet: 1 < px
    np.testing.assert_allclose(refine.quarter_offset(hm, coords, margin=0)[0, 1], [1.25, 3])   # bearpaw: 0 < px
    dec, scores = MSRAHeatmap(input_size=(28, 24), heatmap_size=(7, 6)).decode_hm(hm)
    np.testing.assert_allclose(dec[0], [[3.25, 1.75], [1, 3]])
    np.testing.assert_allclose(scores, maxvals)


def test_get_max_preds_masks_non_positive_maps():
    hm = np.full((1, 2, 4, 5), -1.0, np.float32)
    hm[0, 0, 2, 3] = -0.5
    hm[0, 1, 1, 4] = 2.0
    coords, maxvals = refine.get_max_preds(hm)
    np.testing.assert_array_equal(coords[0], [[0, 0], [4, 1]])
    np.testing.assert_array_equal(maxvals[0], [-0.5, 2.0])


def test_bearpaw_argmax_1based_on_hand_built_array():
    hm = np.zeros((1, 3, 4, 5), np.float32)
    hm[0, 0, 1, 2] = 0.9          # row 1, column 2 (0-based) -> (x, y) = (3, 2)
    hm[0, 1, 3, 4] = 0.3
    hm[0, 1, 0, 0] = 0.3          # tie: the first maximum in row-major order wins
    coords, maxvals = argmax_1based(torch.from_numpy(hm))
    np.testing.assert_array_equal(coords[0], [[3, 2], [1, 1], [0, 0]])      # map 2: max 0 -> (0, 0)
    np.testing.assert_allclose(maxvals[0], [0.9, 0.3, 0.0])


def test_bearpaw_encode_and_final_preds():
    c = BearpawHeatmap()                                                  # 256 -> 64, sigma 1
    kp = np.array([[[41.0, 83.9], [10.0, 10.0], [-30.0, 5.0]]])           # hm (10.25, 20.975): int -> (10, 20)
    out = c.encode(kp, np.array([[1.0, 0.0, 1.0]]), draw=np.array([[True, True, True]]))
    m = out["heatmaps"][0, 0]
    assert m[20, 10] == 1.0 and np.count_nonzero(m) == 49                 # 7x7 window around (10, 20)
    assert m[20, 13] == pytest.approx(np.exp(-4.5)) and m[20, 14] == 0
    assert out["heatmaps"][0, 1].any()                                     # drawn (CC-SSL draws y > 0) ...
    np.testing.assert_allclose(out["weights"], [[1.0, 0.0, 0.0]])          # ... but unweighted; joint 2 off the map
    final, _ = c.final_preds_1based(out["heatmaps"])
    np.testing.assert_allclose(final[0, 0], [11.5, 21.5])                  # 1-based argmax + 0.5, symmetric map
    dec, _ = c.decode(out["heatmaps"])
    np.testing.assert_allclose(dec[0, 0], [42.0, 82.0])                    # cell centre (10.5, 20.5) * 4


# --------------------------------------------------------------------------- flip test
def _mirrored_targets(codec, seed, frac=None):
    spec = get_spec("coco17")
    kp = _keypoints(codec, n=3, seed=seed)
    if frac is not None:                                                   # pin the heatmap fraction of x
        hm = codec.to_heatmap(kp)
        hm[..., 0] = np.floor(hm[..., 0]) + frac
        kp = codec.to_input(hm)
    kp3 = np.concatenate([kp, np.ones(kp.shape[:2] + (1,))], -1)
    mirrored = spec.flip_keypoints(kp3, codec.input_size[0])
    return spec, codec.encode(kp3)["heatmaps"], codec.encode(mirrored)["heatmaps"]


@pytest.mark.parametrize("name", ["dark", "udp", "udp_combined"])
def test_flip_test_of_mirrored_pose_is_identity_without_shift(name):
    c = build_codec(name)
    spec, hm, hm_mirrored = _mirrored_targets(c, seed=4)
    assert not c.shift_heatmap
    np.testing.assert_allclose(c.flip_test(hm, hm_mirrored, spec), hm, atol=1e-5)


def test_msra_flip_test_needs_its_one_pixel_shift():
    # x_in -> 191 - x_in is x_hm -> 47.75 - x_hm on the heatmap (stride 4), 0.75 px
    # right of the heatmap mirror 47 - x_hm; with frac(x_hm) in [0, 0.25) the
    # quantised maps line up after the one-pixel shift, and are one pixel off without.
    c = MSRAHeatmap()
    spec, hm, hm_mirrored = _mirrored_targets(c, seed=5, frac=0.1)
    assert c.shift_heatmap
    np.testing.assert_array_equal(c.flip_test(hm, hm_mirrored, spec), hm)
    unshifted = MSRAHeatmap(shift_heatmap=False).flip_back(hm_mirrored, spec)
    np.testing.assert_array_equal(unshifted[..., :-1], hm[..., 1:])


def test_bearpaw_flip_test_sums_unshifted_maps():
    c = BearpawHeatmap()
    spec, hm, hm_mirrored = _mirrored_targets(c, seed=6, frac=0.5)        # int truncation: frac < 0.75 lines up
    np.testing.assert_array_equal(c.flip_test(hm, hm_mirrored, spec), 2 * hm)


def test_combined_flip_back_negates_x_offsets():
    c = build_codec("udp_combined")
    hm = np.random.default_rng(7).random((1, 51, 64, 48)).astype(np.float32)
    out = c.flip_back(hm, "coco17")
    perm = get_spec("coco17").flip_index
    np.testing.assert_array_equal(out[0, 0::3], hm[0, 0::3][perm, :, ::-1])
    np.testing.assert_array_equal(out[0, 1::3], -hm[0, 1::3][perm, :, ::-1])
    np.testing.assert_array_equal(out[0, 2::3], hm[0, 2::3][perm, :, ::-1])


# --------------------------------------------------------------------------- torch inputs
@pytest.mark.parametrize("name", ["msra", "dark", "udp", "udp_combined", "bearpaw"])
def test_torch_and_numpy_inputs_agree(name):
    c = build_codec(name)
    kp = _keypoints(c, n=2, seed=8)
    hm = c.encode(torch.from_numpy(kp))["heatmaps"]
    np.testing.assert_array_equal(hm, c.encode(kp)["heatmaps"])
    hm = hm + np.random.default_rng(8).normal(0, 0.01, hm.shape).astype(np.float32)
    for a, b in zip(c.decode(torch.from_numpy(hm)), c.decode(hm)):
        np.testing.assert_array_equal(a, b)
    spec = get_spec("coco17")
    flipped = c.flip_test(torch.from_numpy(hm), torch.from_numpy(hm), spec)
    assert isinstance(flipped, torch.Tensor)
    np.testing.assert_allclose(flipped.numpy(), c.flip_test(hm, hm, spec), atol=1e-6)


# --------------------------------------------------------------------------- batched vs per-joint loops
def test_batched_msra_encode_equals_loop_exactly():
    bench = _bench()
    for sigma, size in ((2.0, (48, 64)), (1.0, (64, 64)), (1.5, (12, 10))):
        inp = (size[0] * 4, size[1] * 4)
        kp, vis, _ = bench.make_data(4, 17, size, inp, sigma, seed=9)
        kp[0, :4] = [[-20.0, 5.0], [-2.0, -3.0], [inp[0] + 10.0, 8.0], [inp[0] - 1.0, inp[1] + 13.0]]
        ref_hm, ref_w = bench.loop_msra_encode(kp, vis, inp, size, sigma)
        out = MSRAHeatmap(inp, size, sigma).encode(kp, vis)
        np.testing.assert_array_equal(out["heatmaps"], ref_hm)
        np.testing.assert_array_equal(out["weights"], ref_w)
    # the float32 arithmetic matters: the float64 patch differs from HRNet's in some cells (1 ulp)
    from animalpose.codecs.gaussian import window_gaussians
    mu = np.array([[[20.0, 30.0]]])
    f32, _ = window_gaussians(mu, 2.0, (48, 64), np.ones((1, 1), bool), dtype=np.float32)
    f64, _ = window_gaussians(mu, 2.0, (48, 64), np.ones((1, 1), bool), dtype=np.float64)
    diff = np.abs(f32 - f64)
    assert 0 < diff.max() <= 2 * np.spacing(np.float32(1.0))


def test_batched_dark_decode_equals_loop():
    bench = _bench()
    c = DarkHeatmap()
    _, _, maps = bench.make_data(4, 17, c.heatmap_size, c.input_size, seed=10)
    maps[0, 0] = 0                                     # all zero: no Taylor step
    ys, xs = np.mgrid[0:64, 0:48]                      # negative tilted map with one positive spike: the
    maps[0, 1] = -1 + 0.01 * xs + 0.004 * ys           # rescale factor is negative and matters (the
    maps[0, 1, 30, 20] = 0.5                           # whole-map blur path; the step is ~(1.1, 0.4) px)
    maps[0, 2] = np.roll(maps[0, 2], 30, axis=1)       # a peak wrapped across the border
    edge = np.array([[[0.3, 20.0], [2.2, 20.0], [44.8, 61.4], [30.0, 1.9]]])     # heatmap px, at / near borders
    maps[1, :4] = c.encode_hm(edge, np.ones((1, 4)))[0][0]
    ref, ref_scores = bench.loop_dark_decode(maps)
    dec, scores = c.decode(maps)
    np.testing.assert_allclose(dec, c.to_input(ref), atol=1e-4, rtol=0)   # input px
    np.testing.assert_array_equal(scores, ref_scores)


def test_dark_local_blur_equals_whole_map_taylor():
    c = DarkHeatmap()
    rng = np.random.default_rng(11)
    maps = c.encode(_keypoints(c, seed=11))["heatmaps"] * rng.uniform(0.2, 1, (4, 17, 1, 1)).astype(np.float32)
    coords, _ = refine.get_max_preds(maps)
    px, py = coords[..., 0].astype(int), coords[..., 1].astype(int)
    whole = coords + refine.dark_taylor(refine.gather_patches(c.modulate(maps), px, py, 2))
    np.testing.assert_allclose(c.decode_hm(maps)[0], whole, atol=1e-5)


@pytest.mark.parametrize("border", ["constant", "reflect"])
def test_batched_blur_matches_opencv_per_map(border):
    rng = np.random.default_rng(12)
    hm = rng.random((2, 3, 20, 17)).astype(np.float32)
    full = refine.gaussian_blur(hm, 7, border)
    for n in range(2):
        for k in range(3):
            if border == "constant":
                ref = cv2.GaussianBlur(np.pad(hm[n, k], 3), (7, 7), 0)[3:-3, 3:-3]
            else:
                ref = cv2.GaussianBlur(hm[n, k], (7, 7), 0)
            np.testing.assert_allclose(full[n, k], ref, atol=1e-6)
    px, py = rng.integers(2, 15, (2, 3)), rng.integers(2, 18, (2, 3))
    np.testing.assert_allclose(refine.blur_patches(hm, px, py, 7, 2, border),
                               refine.gather_patches(full, px, py, 2), atol=1e-6)
