import numpy as np
import torch

from animalpose.keypoints import get_spec
from animalpose.transforms import flip_back, flip_image, flip_keypoints, flip_test_average


def _heatmaps(kp, h, w, sigma=1.0):
    """Analytic Gaussians at the keypoints: (1, K, h, w)."""
    ys, xs = np.mgrid[0:h, 0:w]
    d2 = (xs[None] - kp[:, 0, None, None]) ** 2 + (ys[None] - kp[:, 1, None, None]) ** 2
    return np.exp(-d2 / (2 * sigma ** 2))[None].astype(np.float32)


def test_flip_image_and_keypoints_agree():
    img = np.zeros((8, 10, 3), np.uint8)
    img[2, 3] = 255
    f = flip_image(img)
    assert f[2, 10 - 3 - 1, 0] == 255
    kp = np.zeros((18, 3), np.float32)
    kp[0] = [3, 2, 1]                          # l_eye on the marked pixel
    fk = flip_keypoints(kp, 10, "tigdog18")
    assert tuple(fk[1]) == (6, 2, 1)            # becomes r_eye at w - x - 1


def test_flip_back_of_flipped_analytic_heatmaps_is_identity():
    spec = get_spec("tigdog18")
    rng = np.random.default_rng(0)
    kp = np.concatenate([rng.integers(0, 48, (18, 1)), rng.integers(0, 64, (18, 1)), np.ones((18, 1))], 1)
    hm = _heatmaps(kp, 64, 48)
    hm_of_flipped_image = _heatmaps(spec.flip_keypoints(kp, 48), 64, 48)
    np.testing.assert_allclose(flip_back(hm_of_flipped_image, spec), hm, atol=1e-6)
    np.testing.assert_allclose(flip_test_average(hm, hm_of_flipped_image, spec), hm, atol=1e-6)
    t = flip_back(torch.from_numpy(hm_of_flipped_image), spec)
    np.testing.assert_allclose(t.numpy(), hm, atol=1e-6)


def test_shift_moves_one_pixel_right():
    hm = np.zeros((1, 17, 4, 6), np.float32)
    hm[0, 1, 2, 1] = 1.0                        # left_eye peak at x = 1 on the flipped map
    plain = flip_back(hm, "coco17")
    shifted = flip_back(hm, "coco17", shift=True)
    assert plain[0, 2, 2, 4] == 1.0             # right_eye at x = 6 - 1 - 1
    assert shifted[0, 2, 2, 5] == 1.0 and shifted[0, 2, 2, 4] == 0.0
    ts = flip_back(torch.from_numpy(hm), "coco17", shift=True)
    np.testing.assert_array_equal(ts.numpy(), shifted)
