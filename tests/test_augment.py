"""Augmentation recipes: image and keypoints move together, sampling ranges, half-body, strong recipe."""
import numpy as np
import pytest
import torch

from animalpose.keypoints import get_spec
from animalpose.transforms import Normalize, TopDownAugment, get_affine_transform, get_recipe
from animalpose.transforms.augment import half_body_center_scale, strong_affine_matrix, with_overrides
from animalpose.transforms.photometric import LinearContrast, apply_seeded, colour_scale

SPEC = get_spec("coco17")


def _blob_image(points, size=(320, 240), sigma=2.5):
    """Black image with one Gaussian blob per point, in its own channel-free intensity."""
    w, h = size
    ys, xs = np.mgrid[0:h, 0:w]
    img = np.zeros((h, w), np.float32)
    for x, y in points:
        img = np.maximum(img, np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * sigma ** 2)))
    return np.repeat((img * 255).astype(np.uint8)[..., None], 3, axis=2)


def _peak(img, around, radius=6):
    """Sub-pixel centroid of the brightest blob near ``around`` in a crop."""
    g = img[..., 0].astype(np.float64)
    x0, y0 = np.round(around).astype(int)
    ys, xs = np.mgrid[0:g.shape[0], 0:g.shape[1]]
    win = (np.abs(xs - x0) <= radius) & (np.abs(ys - y0) <= radius)
    wgt = np.where(win, g, 0) ** 2
    return np.array([(wgt * xs).sum(), (wgt * ys).sum()]) / wgt.sum()


@pytest.mark.parametrize("seed", range(6))
def test_hrnet_recipe_moves_pixels_and_keypoints_together(seed):
    # one labelled joint (left wrist, index 9) and its mirror partner unlabelled
    kp = np.zeros((17, 3), np.float32)
    kp[9] = (170.3, 118.6, 2)
    img = _blob_image([kp[9, :2]])
    aug = TopDownAugment(with_overrides("hrnet", half_body_prob=0.0), SPEC, (96, 128))
    out = aug(img, kp, center=(165, 120), scale=(0.35, 0.47), rng=np.random.default_rng(seed))
    j = 10 if out.flipped else 9          # a flip moves the joint to its right-side slot
    assert out.keypoints[j, 2] == 2 and out.keypoints[19 - j, 2] == 0
    found = _peak(out.image, out.keypoints[j, :2])
    assert np.abs(found - out.keypoints[j, :2]).max() < 0.35


def test_hrnet_sampling_ranges():
    aug = TopDownAugment(with_overrides("hrnet", half_body_prob=0.0), SPEC, (48, 64))
    img = np.zeros((100, 100, 3), np.uint8)
    kp = np.zeros((17, 3), np.float32)
    rng = np.random.default_rng(0)
    outs = [aug(img, kp, (50, 50), (0.4, 0.4), rng) for _ in range(2000)]
    rot = np.array([o.rotation for o in outs])
    s = np.array([o.scale[0] / 0.4 for o in outs])
    assert np.abs(rot).max() <= 90 and np.abs(rot).max() > 60
    assert abs((rot != 0).mean() - 0.6) < 0.04
    assert s.min() >= 0.65 - 1e-6 and s.max() <= 1.35 + 1e-6
    assert abs(np.mean([o.flipped for o in outs]) - 0.5) < 0.04
    # scale factor N(1, 0.35) clipped: the clipped tails carry about 0.2 of the mass each side
    assert 0.12 < np.mean(s >= 1.35 - 1e-6) < 0.28


def test_flip_conventions_hrnet_vs_bearpaw():
    img = np.zeros((50, 100, 3), np.uint8)
    kp = np.zeros((17, 3), np.float32)
    kp[5] = (30.0, 20.0, 1)                       # left shoulder
    for recipe, offset in (("hrnet", 1.0), ("bearpaw", 0.0)):
        r = with_overrides(recipe, flip_prob=1.0, scale_factor=0.0, rotation_factor=0.0, half_body_prob=0.0,
                           colour_range=None)
        out = TopDownAugment(r, SPEC, (100, 50)).__call__(img, kp, (50.0, 25.0), (0.5, 0.5),
                                                          np.random.default_rng(0))
        assert out.flipped
        assert out.center[0] == pytest.approx(100 - 50 - offset)
        m = get_affine_transform(out.center, out.scale, 0, (100, 50))
        expect = m[:, :2] @ np.array([100 - 30 - offset, 20.0]) + m[:, 2]
        np.testing.assert_allclose(out.keypoints[6, :2], expect, atol=1e-4)   # now the right shoulder
        assert out.keypoints[5, 2] == 0


def test_half_body_box_by_hand():
    kp = np.zeros((17, 3), np.float32)
    kp[:, 2] = 1
    kp[:11, :2] = np.array([[10, 10], [20, 30]] * 5 + [[15, 50]])    # upper body spans x 10-20, y 10-50
    kp[11:, :2] = np.array([[100, 100], [140, 180]] * 3)              # lower body spans x 100-140, y 100-180
    # a generator whose first normal draw is < 0.5 picks the upper body
    seed = next(s for s in range(100) if np.random.default_rng(s).standard_normal() < 0.5)
    c, s = half_body_center_scale(kp, SPEC.upper_body, 0.75, np.random.default_rng(seed))
    np.testing.assert_allclose(c, kp[:11, :2].mean(0), rtol=1e-6)
    # box 10 x 40, aspect 0.75 -> width 30; padded by 1.5 in units of 200 px
    np.testing.assert_allclose(s, np.array([30, 40]) / 200 * 1.5, rtol=1e-6)
    seed = next(s for s in range(100) if np.random.default_rng(s).standard_normal() >= 0.5)
    c, s = half_body_center_scale(kp, SPEC.upper_body, 0.75, np.random.default_rng(seed))
    np.testing.assert_allclose(c, kp[11:, :2].mean(0), rtol=1e-6)
    np.testing.assert_allclose(s, np.array([60, 80]) / 200 * 1.5, rtol=1e-6)


def test_half_body_needs_enough_joints():
    kp = np.zeros((17, 3), np.float32)
    kp[0, :] = (10, 10, 1)   # one labelled joint: no box
    assert half_body_center_scale(kp, SPEC.upper_body, 0.75, np.random.default_rng(0)) is None


def test_strong_affine_matrix_centre_and_ranges():
    rng = np.random.default_rng(3)
    for _ in range(50):
        m = strong_affine_matrix((640, 480), rng)
        lin = m[:, :2]
        det = np.linalg.det(lin)
        assert 0.25 - 1e-9 <= det <= 2.25 + 1e-9          # sx * sy in [0.25, 2.25]; rotation/shear keep area
        shift = m[:, :2] @ np.array([319.5, 239.5]) + m[:, 2] - np.array([319.5, 239.5])
        assert np.all(np.abs(shift) <= np.array([32, 24]) + 1e-6)   # centre moves by the translation only


def test_strong_recipe_keypoints_follow_the_image():
    kp = np.zeros((18, 3), np.float32)
    kp[0] = (300.4, 200.7, 1)
    img = _blob_image([kp[0, :2]], size=(640, 480), sigma=3.0)
    quiet = with_overrides("ccssl_strong", flip_prob=0.0, noise_std=0.0, contrast=(1.0, 1.0), blur_sigma=(1.0, 1.0),
                           strong_prob=1.0)
    aug = TopDownAugment(quiet, "tigdog18", (256, 256))
    hits = 0
    for seed in range(8):
        out = aug(img, kp, center=(320, 240), scale=(2.4, 2.4), rng=np.random.default_rng(seed))
        assert out.rotation == 0.0 and out.scale[0] == pytest.approx(2.4)
        if out.keypoints[0, 2] == 0:
            continue
        hits += 1
        found = _peak(out.image, out.keypoints[0, :2], radius=4)
        assert np.abs(found - out.keypoints[0, :2]).max() < 0.6
    assert hits >= 5


def test_strong_recipe_drops_joints_pushed_outside():
    kp = np.zeros((18, 3), np.float32)
    kp[0] = (2.0, 2.0, 1)     # a corner joint leaves the image under most scalings > 1
    kp[1] = (320.0, 240.0, 1)  # the centre stays inside
    quiet = with_overrides("ccssl_strong", flip_prob=0.0, strong_prob=1.0)
    aug = TopDownAugment(quiet, "tigdog18", (64, 64))
    dropped = 0
    for seed in range(20):
        out = aug(np.zeros((480, 640, 3), np.uint8), kp, (320, 240), (2.4, 2.4), np.random.default_rng(seed))
        assert out.keypoints[1, 2] == 1
        dropped += out.keypoints[0, 2] == 0
    assert dropped >= 5


def test_same_seed_same_sample():
    img = (np.random.default_rng(0).random((120, 160, 3)) * 255).astype(np.uint8)
    kp = np.zeros((18, 3), np.float32)
    kp[:, :2] = np.random.default_rng(1).uniform(20, 100, (18, 2))
    kp[:, 2] = 1
    for name in ("hrnet", "bearpaw", "ccssl_strong"):
        aug = TopDownAugment(name, "tigdog18", (64, 64))
        a = aug(img, kp, (80, 60), (0.6, 0.6), np.random.default_rng(7))
        b = aug(img, kp, (80, 60), (0.6, 0.6), np.random.default_rng(7))
        np.testing.assert_array_equal(a.image, b.image)
        np.testing.assert_array_equal(a.keypoints, b.keypoints)


def test_photometric_by_hand():
    img = np.full((4, 4, 3), 100, np.uint8)
    out = apply_seeded(LinearContrast((2.0, 2.0), per_channel=0.0), img, np.random.default_rng(0))
    assert np.all(out == 72)                       # 127.5 + 2 * (100 - 127.5) = 72.5 -> 72 (round half even)
    rng = np.random.default_rng(5)
    factors = np.random.default_rng(5).uniform(0.8, 1.2, size=3)
    np.testing.assert_array_equal(colour_scale(img, rng)[0, 0], np.clip(np.rint(100 * factors), 0, 255))


def test_unknown_recipe_and_bad_keypoints():
    with pytest.raises(KeyError, match="unknown augmentation recipe 'nope'"):
        get_recipe("nope")
    with pytest.raises(ValueError, match=r"keypoints must have shape \(17, 3\)"):
        TopDownAugment("hrnet", SPEC, (48, 64))(np.zeros((10, 10, 3), np.uint8), np.zeros((18, 3)), (5, 5), 0.1)


def test_normalize_by_hand_and_round_trip():
    img = np.zeros((2, 2, 3), np.uint8)
    img[0, 0] = (255, 0, 51)
    t = Normalize()(img)
    assert t.shape == (3, 2, 2) and t.dtype == torch.float32
    assert t[0, 0, 0].item() == pytest.approx((1 - 0.485) / 0.229, rel=1e-6)
    assert t[2, 0, 0].item() == pytest.approx((0.2 - 0.406) / 0.225, rel=1e-6)
    np.testing.assert_array_equal(Normalize().denormalize(t), img)
    # bearpaw: byte-scale the crop to 0..255, subtract the mean only
    img2 = np.full((2, 2, 3), 100, np.uint8)
    img2[1, 1] = 150
    t2 = Normalize(mean=(0.5, 0.5, 0.5), std=None, bytescale=True)(img2)
    assert t2.min().item() == pytest.approx(-0.5) and t2.max().item() == pytest.approx(0.5)
    bgr = Normalize(bgr=True)(img)
    assert bgr[2, 0, 0].item() == pytest.approx((1 - 0.485) / 0.229, rel=1e-6)
