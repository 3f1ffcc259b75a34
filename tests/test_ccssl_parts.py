"""CC-SSL building blocks: equivariance warps, Lucas-Kanade temporal refinement, curriculum."""
import cv2
import numpy as np
import pytest
import torch

from animalpose.transforms import affine_points, invert_affine
from ccssl.curriculum import confidence_threshold, curriculum_weights, quantile_p
from ccssl.equivariance import recrop_matrix, sample_transforms, to_heatmap_matrix, warp, warp_back
from ccssl.temporal import LK_PARAMS, lk_flow, same_shot_pairs, temporal_refine

IN, HM = (128, 128), (32, 32)


def _gauss_maps(centers, size, sigma=1.5):
    """``(N, K, h, w)`` unnormalised Gaussians at ``centers (N, K, 2)`` (heatmap px)."""
    w, h = size
    c = np.asarray(centers, np.float64)
    xs = np.arange(w)[None, None, None, :]
    ys = np.arange(h)[None, None, :, None]
    d2 = (xs - c[..., 0, None, None]) ** 2 + (ys - c[..., 1, None, None]) ** 2
    return torch.from_numpy(np.exp(-d2 / (2 * sigma ** 2))).float()


def _centroid(maps, radius=4):
    """Weighted centroid ``(N, K, 2)`` within ``radius`` px of each map's argmax."""
    m = maps.numpy().astype(np.float64)
    n, k, h, w = m.shape
    flat = m.reshape(n, k, -1).argmax(-1)
    py, px = flat // w, flat % w
    xs = np.arange(w)[None, None, None, :]
    ys = np.arange(h)[None, None, :, None]
    win = (np.abs(xs - px[..., None, None]) <= radius) & (np.abs(ys - py[..., None, None]) <= radius)
    wm = m * win
    s = wm.sum((2, 3))
    return np.stack([(wm * xs).sum((2, 3)) / s, (wm * ys).sum((2, 3)) / s], -1)


def _texture(size=(128, 128), seed=0, cell=4):
    """Smooth random uint8 texture (noise on a ``cell`` px lattice, cubic upsampling, blur)."""
    rng = np.random.default_rng(seed)
    noise = rng.random((size[1] // cell, size[0] // cell)).astype(np.float32)
    img = cv2.resize(noise, size, interpolation=cv2.INTER_CUBIC)
    img = cv2.GaussianBlur(img, (0, 0), 2.0)
    img = (img - img.min()) / (img.max() - img.min())
    return (img * 255).astype(np.uint8)


def _shift(img, dx, dy):
    """Content moves by ``(dx, dy)`` px: point ``(x, y)`` -> ``(x + dx, y + dy)``."""
    return np.roll(np.roll(img, dy, axis=0), dx, axis=1)


# --------------------------------------------------------------------------- equivariance
def test_sample_transforms_ranges_identity_first():
    s, r = sample_transforms(np.random.default_rng(0), 2000)
    assert s.shape == r.shape == (2000,)
    assert s[0] == 1.0 and r[0] == 0.0
    assert s.min() >= 0.75 and s.max() <= 1.25 and r.min() >= -60 and r.max() <= 60
    assert (s == 0.75).any() and (s == 1.25).any() and (r == 60).any() and (r == -60).any()  # clamped tails
    assert abs(s[1:].std() - 0.2) < 0.03 and abs(r[1:].std() - 28) < 3
    s1, r1 = sample_transforms(np.random.default_rng(5), 5)
    s2, r2 = sample_transforms(np.random.default_rng(5), 5)
    np.testing.assert_array_equal(s1, s2)
    np.testing.assert_array_equal(r1, r2)


@pytest.mark.parametrize("out_size", [(24, 20), (18, 22)])
def test_warp_matches_cv2(out_size):
    rng = np.random.default_rng(1)
    imgs = rng.random((3, 20, 24, 4)).astype(np.float32)
    mats = []
    for i in range(3):
        m = recrop_matrix((24, 20), rng.uniform(0.7, 1.3), rng.uniform(-60, 60))
        m[:, 2] += rng.uniform(-3, 3, 2)
        mats.append(m)
    mats = np.stack(mats)
    out = warp(torch.from_numpy(imgs).permute(0, 3, 1, 2), mats, out_size).permute(0, 2, 3, 1).numpy()
    for i in range(3):
        ref = cv2.warpAffine(imgs[i], mats[i], out_size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                             borderValue=0)
        np.testing.assert_allclose(out[i], ref, atol=1e-4)
    # torch matrices and a single shared (2, 3) matrix give the same result
    t = warp(torch.from_numpy(imgs).permute(0, 3, 1, 2), torch.from_numpy(mats), out_size).permute(0, 2, 3, 1)
    np.testing.assert_allclose(t.numpy(), out, atol=1e-6)
    one = warp(torch.from_numpy(imgs).permute(0, 3, 1, 2), mats[0], out_size).permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(one[0], out[0], atol=1e-6)


def test_identity_transform_exact():
    np.testing.assert_allclose(recrop_matrix(IN, 1.0, 0.0), np.eye(2, 3), atol=1e-9)
    np.testing.assert_allclose(to_heatmap_matrix(recrop_matrix(IN, 1.0, 0.0), IN, HM), np.eye(2, 3), atol=1e-9)
    maps = torch.rand(2, 3, 32, 32)
    np.testing.assert_allclose(warp(maps, np.eye(2, 3)[None].repeat(2, 0), HM).numpy(), maps.numpy(), atol=1e-5)
    np.testing.assert_allclose(warp_back(maps, np.eye(2, 3)[None].repeat(2, 0), IN, HM).numpy(), maps.numpy(),
                               atol=1e-5)


def test_invert_and_heatmap_matrix():
    rng = np.random.default_rng(2)
    m = np.stack([recrop_matrix(IN, f, r) for f, r in zip(rng.uniform(0.75, 1.25, 4), rng.uniform(-60, 60, 4))])
    pts = rng.uniform(0, 128, (4, 7, 2))
    back = np.stack([affine_points(affine_points(pts[i], m[i]), invert_affine(m)[i]) for i in range(4)])
    np.testing.assert_allclose(back, pts, atol=1e-9)
    ti = invert_affine(torch.from_numpy(m))
    np.testing.assert_allclose(ti.numpy(), invert_affine(m), atol=1e-12)
    # heatmap-px matrix: x_hm = x_in / 4 on both sides
    mh = to_heatmap_matrix(m, IN, HM)
    for i in range(4):
        np.testing.assert_allclose(affine_points(pts[i] / 4, mh[i]), affine_points(pts[i], m[i]) / 4, atol=1e-9)
    np.testing.assert_allclose(to_heatmap_matrix(torch.from_numpy(m), IN, HM).numpy(), mh, atol=1e-12)
    # the recrop keeps the centre and scales by 1 / f
    np.testing.assert_allclose(affine_points(np.array([64.0, 64.0]), m[0]), [64.0, 64.0], atol=1e-4)
    f, r = 0.8, 30.0
    mf = recrop_matrix(IN, f, r)
    np.testing.assert_allclose(np.sqrt(abs(np.linalg.det(mf[:, :2]))), 1 / f, rtol=1e-5)


def test_forward_then_back_returns_peak():
    rng = np.random.default_rng(3)
    n = 6
    scales, rots = sample_transforms(rng, n + 1)
    scales, rots = scales[1:], rots[1:]
    mats_in = np.stack([recrop_matrix(IN, s, r) for s, r in zip(scales, rots)])
    centers = 16 + rng.uniform(-7, 7, (n, 3, 2))  # heatmap px near the centre, stays in frame
    maps = _gauss_maps(centers, HM)
    fwd = warp(maps, to_heatmap_matrix(mats_in, IN, HM), HM)
    back = warp_back(fwd, mats_in, IN, HM)
    assert np.abs(_centroid(back) - centers).max() < 0.3


def test_warp_back_lands_on_identity_positions():
    rng = np.random.default_rng(4)
    n = 5
    scales, rots = sample_transforms(rng, n)
    scales[0], rots[0] = 1.2, 45.0  # also a non-identity first view
    mats_in = np.stack([recrop_matrix(IN, s, r) for s, r in zip(scales, rots)])
    kp_in = 64 + rng.uniform(-28, 28, (n, 4, 2))  # identity-crop input px
    kp_view = np.stack([affine_points(kp_in[i], mats_in[i]) for i in range(n)])
    maps = _gauss_maps(kp_view * np.array(HM) / np.array(IN), HM)
    back = warp_back(maps, mats_in, IN, HM)
    assert back.shape == maps.shape
    assert np.abs(_centroid(back) - kp_in * np.array(HM) / np.array(IN)).max() < 0.3


# --------------------------------------------------------------------------- temporal
def test_lk_params():
    assert LK_PARAMS["winSize"] == (15, 15) and LK_PARAMS["maxLevel"] == 2
    assert LK_PARAMS["criteria"] == (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 10, 0.03)


def test_lk_flow_recovers_translation():
    prev = _texture()
    cur = _shift(prev, 3, -2)
    pts = np.random.default_rng(0).uniform(30, 98, (12, 2))
    flowed, ok = lk_flow(prev, cur, pts)
    assert flowed.dtype == np.float32 and flowed.shape == (12, 2) and ok.all()
    assert np.abs(flowed - (pts + [3, -2])).max() < 0.3
    # displacement above the limit -> not ok
    _, ok2 = lk_flow(prev, cur, pts, max_displacement=2.0)
    assert not ok2.any()
    # a coarse texture is tracked over 18 px by the pyramid; 18 > 15 -> not ok
    coarse = _texture(cell=16)
    fl, ok3 = lk_flow(coarse, _shift(coarse, 18, -1), pts)
    assert np.abs(fl - (pts + [18, -1])).max() < 0.3
    assert not ok3.any()
    assert lk_flow(coarse, _shift(coarse, 18, -1), pts, max_displacement=20.0)[1].all()
    e, eok = lk_flow(prev, cur, np.zeros((0, 2)))
    assert e.shape == (0, 2) and eok.shape == (0,)


def test_same_shot_pairs():
    vids = np.array([0, 0, 0, 0, 1, 1])
    fids = np.array([3, 4, 6, 7, 7, 8])
    np.testing.assert_array_equal(same_shot_pairs(vids, fids), [-1, 0, -1, 2, -1, 4])
    np.testing.assert_array_equal(same_shot_pairs(vids, fids, respect_shots=False), [-1, 0, 1, 2, 3, 4])
    assert same_shot_pairs([], []).shape == (0,)


def _frames(shifts, seed=0):
    """Frames whose content moves by the cumulative ``shifts``; returns (grays, cumulative offsets)."""
    base = _texture(seed=seed)
    offs = np.cumsum(np.array([(0, 0)] + list(shifts)), 0)
    return [_shift(base, int(dx), int(dy)) for dx, dy in offs], offs.astype(np.float64)


def test_temporal_refine_replacement_rule():
    grays, offs = _frames([(2, 1)])
    kp0 = np.array([[40.0, 50.0], [60.0, 70.0], [80.0, 45.0], [50.0, 90.0]])
    kp1 = kp0 + [[7, -5], [4, 4], [-6, 3], [5, 5]]  # wrong-ish current predictions
    conf = np.array([[0.8, 0.8, 0.5, 0.0],
                     [0.5, 0.75, 0.9, 0.0]])
    out_kp, out_conf, rep = temporal_refine(np.stack([kp0, kp1]), conf, grays, np.array([-1, 0]))
    # 0.5 / 0.8 = 0.625 < 0.9 -> replaced; 0.75 / 0.8 = 0.9375 and 0.9 / 0.5 -> kept; flow_conf 0 -> kept
    np.testing.assert_array_equal(rep, [[False] * 4, [True, False, False, False]])
    assert out_conf[1, 0] == pytest.approx(0.8 * 0.9)
    np.testing.assert_allclose(out_kp[1, 0], kp0[0] + offs[1], atol=0.3)
    np.testing.assert_array_equal(out_kp[1, 1:], kp1[1:])
    np.testing.assert_array_equal(out_conf[1, 1:], conf[1, 1:])
    np.testing.assert_array_equal(out_kp[0], kp0)
    # flow displacement over the limit -> flow confidence 0 -> nothing replaced
    _, c2, rep2 = temporal_refine(np.stack([kp0, kp1]), conf, grays, np.array([-1, 0]), max_displacement=1.0)
    assert not rep2.any()
    np.testing.assert_array_equal(c2, conf)


def test_temporal_refine_chained_and_shot_boundary():
    grays, offs = _frames([(2, 1), (-1, 2)])
    kp = np.array([[[50.0, 60.0]], [[70.0, 30.0]], [[20.0, 90.0]]])
    conf = np.array([[0.8], [0.1], [0.6]])
    out_kp, out_conf, rep = temporal_refine(kp, conf, grays, np.array([-1, 0, 1]))
    # frame 1: 0.1 / 0.8 < 0.9 -> 0.72; frame 2 uses the refined 0.72: 0.6 / 0.72 = 0.83 < 0.9 -> 0.648
    np.testing.assert_array_equal(rep[:, 0], [False, True, True])
    np.testing.assert_allclose(out_conf[:, 0], [0.8, 0.72, 0.648], rtol=1e-12)
    np.testing.assert_allclose(out_kp[2, 0], kp[0, 0] + offs[2], atol=0.4)
    # frame 2 from another video: no propagation when shots are respected, propagation in the reference mode
    vids, fids = np.array([0, 0, 1]), np.array([0, 1, 2])
    _, c_shot, rep_shot = temporal_refine(kp, conf, grays, same_shot_pairs(vids, fids, True))
    np.testing.assert_array_equal(rep_shot[:, 0], [False, True, False])
    assert c_shot[2, 0] == 0.6
    _, c_ref, rep_ref = temporal_refine(kp, conf, grays, same_shot_pairs(vids, fids, False))
    np.testing.assert_array_equal(rep_ref[:, 0], [False, True, True])
    # inputs are not modified
    assert conf[1, 0] == 0.1 and kp[1, 0, 0] == 70.0


# --------------------------------------------------------------------------- curriculum
def test_quantile_p():
    assert quantile_p(0) == pytest.approx(0.8)
    assert quantile_p(10) == pytest.approx(0.6)
    assert quantile_p(20) == pytest.approx(0.4)
    assert quantile_p(30) == 0.2 and quantile_p(40) == 0.2 and quantile_p(50) == 0.2


def test_threshold_hand_case():
    conf = np.array([[0.9, 0.2, 0.55], [0.1, 0.7, 0.35], [0.8, 0.45, 0.6]])
    # sorted with the prepended 0 (10 values):
    # [0, 0.1, 0.2, 0.35, 0.45, 0.55, 0.6, 0.7, 0.8, 0.9]
    # epoch 0: p = 0.8, index int(8.0) = 8 -> 0.8; epoch 10: p = 0.6, index 6 -> 0.6;
    # epoch 30: p = 0.2, index 2 -> 0.2
    assert confidence_threshold(conf, 0) == 0.8
    assert confidence_threshold(conf, 10) == 0.6
    assert confidence_threshold(conf, 30) == 0.2
    w, thr = curriculum_weights(conf, 10)
    assert thr == 0.6 and w.dtype == np.float32 and w.shape == conf.shape
    np.testing.assert_array_equal(w, [[1, 0, 0], [0, 1, 0], [1, 0, 0]])  # strictly greater: 0.6 itself dropped
    w0, _ = curriculum_weights(conf, 0)
    np.testing.assert_array_equal(w0, [[1, 0, 0], [0, 0, 0], [0, 0, 0]])


def test_kept_fraction_schedule():
    conf = np.random.default_rng(0).permutation(np.linspace(0.001, 0.999, 10000))
    kept = {e: curriculum_weights(conf, e)[0].mean() for e in (0, 10, 20, 30, 40, 50)}
    expected = {0: 0.2, 10: 0.4, 20: 0.6, 30: 0.8, 40: 0.8, 50: 0.8}
    for e, f in expected.items():
        assert kept[e] == pytest.approx(f, abs=1e-3), (e, kept[e])
    rnd = np.random.default_rng(1).random((100, 100))
    assert curriculum_weights(rnd, 0)[0].mean() == pytest.approx(0.2, abs=1e-3)


# --------------------------------------------------------------------------- exclusivity
def test_coincident_joints_keeps_the_more_confident_of_a_close_pair():
    from ccssl.exclusivity import coincident_joints
    # instance 0: joints 0 and 2 are 3 px apart (joint 2 more confident), joint 1 is far away;
    # instance 1: joints 0 and 1 coincide with equal confidence (lower index wins), joint 2 is 6.5 px away
    kp = np.array([[[10.0, 10.0], [40.0, 10.0], [13.0, 10.0]],
                   [[20.0, 20.0], [20.0, 20.0], [20.0, 26.5]]])
    conf = np.array([[0.4, 0.9, 0.6],
                     [0.5, 0.5, 0.9]])
    np.testing.assert_array_equal(coincident_joints(kp, conf, 6.4),
                                  [[True, False, False], [False, True, False]])
    # a wider radius also catches joint 2 of instance 1, which is the most confident: it stays, 0 and 1 go
    np.testing.assert_array_equal(coincident_joints(kp, conf, 7.0)[1], [True, True, False])
    with pytest.raises(ValueError, match="min_separation"):
        coincident_joints(kp, conf, 0.0)
    with pytest.raises(ValueError, match=r"\(N, K, 2\)"):
        coincident_joints(kp[0], conf, 6.4)


def test_ccssl_options_are_validated():
    from animalpose.engine.config import load_experiment
    with pytest.raises(ValueError, match="ccssl.min_separation"):
        load_experiment("demo_ccssl", ["ccssl.min_separation=-1"])
    with pytest.raises(ValueError, match="ccssl.gamma must be >= 0"):
        load_experiment("demo_ccssl", ["ccssl.gamma=-1"])
    assert load_experiment("demo_ccssl", ["ccssl.min_separation=6.4"]).ccssl.min_separation == 6.4
