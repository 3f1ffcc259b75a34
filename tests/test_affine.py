import cv2
import numpy as np
import pytest

from animalpose.transforms import (affine_points, box_center_scale, get_affine_transform, get_udp_warp_matrix,
                                   transform_preds, warp_image)


def test_no_rotation_is_scale_and_translation_hand_computed():
    # crop of side 1.0 * 200 = 200 px around (100, 50) onto a 64 x 64 output: factor 64 / 200
    M = get_affine_transform((100, 50), 1.0, 0, (64, 64))
    k = 64 / 200
    np.testing.assert_allclose(M, [[k, 0, 32 - k * 100], [0, k, 32 - k * 50]], atol=1e-6)


def test_aspect_fixed_by_width_and_rotation_maps_the_defining_points():
    c, s, out = np.array([120.0, 80.0]), np.array([0.75, 1.0]), (192, 256)
    M = get_affine_transform(c, s, 30, out)
    rad = np.deg2rad(30)
    up = np.array([0.0, -0.75 * 200 / 2])
    rotated = np.array([up[0] * np.cos(rad) - up[1] * np.sin(rad), up[0] * np.sin(rad) + up[1] * np.cos(rad)])
    np.testing.assert_allclose(affine_points(c, M), [96, 128], atol=1e-4)
    np.testing.assert_allclose(affine_points(c + rotated, M), [96, 128 - 96], atol=1e-4)
    # a similarity: uniform factor out_w / src_w in every direction
    assert np.isclose(np.linalg.det(M[:, :2]), (192 / 150) ** 2, rtol=1e-5)


def test_inverse_and_transform_preds_round_trip():
    c, s = (210.3, 140.7), (1.2, 1.6)
    M = get_affine_transform(c, s, 0, (48, 64))
    Minv = get_affine_transform(c, s, 0, (48, 64), inv=True)
    pts = np.array([[200.0, 130.0], [250.5, 190.25], [170.0, 100.0]])
    hm = affine_points(pts, M)
    np.testing.assert_allclose(affine_points(hm, Minv), pts, atol=1e-4)
    np.testing.assert_allclose(transform_preds(hm, c, s, (48, 64)), pts, atol=1e-4)


def test_dark_unbiased_centre():
    M = get_affine_transform((100, 100), 1.0, 0, (48, 64), unbiased=True)
    np.testing.assert_allclose(affine_points([100, 100], M), [23.5, 31.5], atol=1e-5)
    # half a (src_w - 1) crop width maps to half a (dst_w - 1) output width
    np.testing.assert_allclose(affine_points([100, 100 - 199 / 2], M), [23.5, 31.5 - 47 / 2], atol=1e-4)


def test_udp_matrix_maps_crop_edges_to_first_and_last_pixel():
    c, s, out = np.array([150.0, 120.0]), np.array([0.96, 1.28]), (192, 256)
    M = get_udp_warp_matrix(c, s, 0, out)
    half = s * 200 / 2
    np.testing.assert_allclose(affine_points(c, M), [95.5, 127.5], atol=1e-9)
    np.testing.assert_allclose(affine_points(c - half, M), [0, 0], atol=1e-9)
    np.testing.assert_allclose(affine_points(c + half, M), [191, 255], atol=1e-9)
    # heatmap coordinates back with the UDP transform_preds
    Mh = get_udp_warp_matrix(c, s, 0, (48, 64))
    pts = np.array([[140.0, 100.0], [180.0, 160.0]])
    np.testing.assert_allclose(transform_preds(affine_points(pts, Mh), c, s, (48, 64), udp=True), pts, atol=1e-9)
    # rotation about the centre keeps the centre fixed; same direction as get_affine_transform
    R = get_udp_warp_matrix(c, np.array([1.0, 1.0]), 90, (201, 201))
    np.testing.assert_allclose(affine_points(c, R), [100, 100], atol=1e-9)
    np.testing.assert_allclose(affine_points(c + [10, 0], R), [100, 90], atol=1e-9)
    for rot in (-35.0, 20.0, 90.0):
        A = get_affine_transform(c, 1.0, rot, (201, 201))[:, :2]
        U = get_udp_warp_matrix(c, 1.0, rot, (201, 201))[:, :2]
        np.testing.assert_allclose(U / np.linalg.norm(U[0]), A / np.linalg.norm(A[0]), atol=1e-6)


def test_warp_image_moves_a_marked_pixel_where_the_matrix_says():
    img = np.zeros((100, 120, 3), np.uint8)
    img[40, 70] = 255
    M = get_affine_transform((60, 50), 0.5, 0, (50, 50))
    out = warp_image(img, M, (50, 50), flags=cv2.INTER_NEAREST)
    y, x = np.unravel_index(out[..., 0].argmax(), out.shape[:2])
    np.testing.assert_allclose([x, y], np.round(affine_points([70, 40], M)), atol=1)


@pytest.mark.parametrize("box,aspect,c,s", [
    ((10, 20, 40, 100), 0.75, (25, 60), (0.375, 0.5)),        # w 30 -> 0.75 * 80 = 60
    ((0, 0, 100, 50), 0.75, (50, 25), (100 / 200 * 1.25, 100 / 0.75 / 200 * 1.25)),
])
def test_box_center_scale_pads_to_aspect(box, aspect, c, s):
    cc, ss = box_center_scale(box, aspect)
    np.testing.assert_allclose(cc, c, rtol=1e-6)
    np.testing.assert_allclose(ss, s, rtol=1e-6)


def test_batched_affine_points_and_inverse():
    from animalpose.transforms import invert_affine
    rng = np.random.default_rng(4)
    mats = np.stack([get_affine_transform(rng.uniform(50, 150, 2), rng.uniform(0.5, 1.5, 2), rng.uniform(-60, 60),
                                          (96, 128)) for _ in range(5)])
    pts = rng.uniform(0, 200, (5, 7, 2))
    batched = affine_points(pts, mats)
    one_by_one = np.stack([affine_points(pts[i], mats[i]) for i in range(5)])
    np.testing.assert_allclose(batched, one_by_one, atol=1e-9)
    inv = invert_affine(mats)
    np.testing.assert_allclose(affine_points(batched, inv), pts, atol=1e-8)
    # the inverse is the one cv2 computes
    np.testing.assert_allclose(inv[2], cv2.invertAffineTransform(mats[2]), atol=1e-9)
