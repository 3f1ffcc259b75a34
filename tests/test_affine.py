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
    # rotation about the centre keeps the centre fixed.  UDP's get_warpmatrix at 90 degrees: x' = kx (cos dx -
    # sin dy) + cx', y' = ky (sin dx + cos dy) + cy'; a point 10 px right of the centre goes 10 px down
    R = get_udp_warp_matrix(c, np.array([1.0, 1.0]), 90, (201, 201))
    np.testing.assert_allclose(affine_points(c, R), [100, 100], atol=1e-9)
    np.testing.assert_allclose(affine_points(c + [10, 0], R), [100, 110], atol=1e-9)
    theta = np.deg2rad(30.0)                                  # a hand-rotated point at 30 degrees
    np.testing.assert_allclose(affine_points(c + [10, 0], get_udp_warp_matrix(c, 1.0, 30, (201, 201))),
                               [100 + 10 * np.cos(theta), 100 + 10 * np.sin(theta)], atol=1e-9)
    # the official UDP direction at r is get_affine_transform at -r; direction="kit" agrees at r
    for rot in (-35.0, 20.0, 90.0):
        A = get_affine_transform(c, 1.0, -rot, (201, 201))[:, :2]
        U = get_udp_warp_matrix(c, 1.0, rot, (201, 201))[:, :2]
        np.testing.assert_allclose(U / np.linalg.norm(U[0]), A / np.linalg.norm(A[0]), atol=1e-6)
        K = get_udp_warp_matrix(c, 1.0, rot, (201, 201), direction="kit")[:, :2]
        A = get_affine_transform(c, 1.0, rot, (201, 201))[:, :2]
        np.testing.assert_allclose(K / np.linalg.norm(K[0]), A / np.linalg.norm(A[0]), atol=1e-6)


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


def test_darkpose_box_convention_hand_computed():
    """DarkPose: ground-truth width x2 - x1 + 1 (HRNet's centre), detections centred at x + (w - 1) / 2."""
    gt = [10.0, 20.0, 69.0, 119.0]               # cleaned from COCO [10, 20, 60, 100]: x2 = x1 + w - 1
    c, s = box_center_scale(gt, 0.75, 1.25)
    np.testing.assert_allclose(c, [39.5, 69.5])
    np.testing.assert_allclose(s, np.float32([99 * 0.75 / 200 * 1.25, 99 / 200 * 1.25]), rtol=1e-6)
    c, s = box_center_scale(gt, 0.75, 1.25, convention="darkpose")
    np.testing.assert_allclose(c, [39.5, 69.5])                                 # same centre ...
    np.testing.assert_allclose(s, np.float32([100 * 0.75 / 200 * 1.25, 100 / 200 * 1.25]), rtol=1e-6)  # w + 1
    det = [10.0, 20.0, 70.0, 120.0]              # detection x, y, w, h = 10, 20, 60, 100 as x, y, x + w, y + h
    c, s = box_center_scale(det, 0.75, 1.25, convention="darkpose", detection=True)
    np.testing.assert_allclose(c, [10 + 59 / 2, 20 + 99 / 2])                    # x + (w - 1) / 2
    np.testing.assert_allclose(s, np.float32([100 * 0.75 / 200 * 1.25, 100 / 200 * 1.25]), rtol=1e-6)
    c, _ = box_center_scale(det, 0.75, 1.25)
    np.testing.assert_allclose(c, [40.0, 70.0])                                 # HRNet: x + w / 2


def _hrnet_affine(center, scale, out):
    """HRNet's get_affine_transform at rotation 0, written out: ``scale * 200`` in float32."""
    scale_tmp = scale * 200                                   # float32 array times a Python int: float32
    src_w, dst_w, dst_h = scale_tmp[0], out[0], out[1]
    src = np.zeros((3, 2), np.float32)
    dst = np.zeros((3, 2), np.float32)
    src[0] = center
    src[1] = center + np.array([0, src_w * -0.5])
    dst[0] = [dst_w * 0.5, dst_h * 0.5]
    dst[1] = np.array([dst_w * 0.5, dst_h * 0.5]) + np.array([0, dst_w * -0.5])

    def third(a, b):
        d = a - b
        return b + np.array([-d[1], d[0]], np.float32)

    src[2], dst[2] = third(src[0], src[1]), third(dst[0], dst[1])
    return cv2.getAffineTransform(src, dst)


def test_float32_crop_scale_matches_hrnet_arithmetic():
    """HRNet's float32 ``scale * 200``: the kit's matrix with scale_dtype=float32 equals the written-out
    reference bit for bit; the float64 product moves crop points (by under 0.01 px here)."""
    rng = np.random.default_rng(0)
    moved = []
    for _ in range(200):
        center = rng.uniform(0, 640, 2).astype(np.float32)
        scale = rng.uniform(0.2, 3.0, 2).astype(np.float32)
        kit32 = get_affine_transform(center, scale, 0, (192, 256), scale_dtype=np.float32)
        np.testing.assert_array_equal(kit32, _hrnet_affine(center, scale, (192, 256)))
        kit64 = get_affine_transform(center, scale, 0, (192, 256))
        far = np.array([[0.0, 0.0], [640.0, 480.0]])
        moved.append(np.abs(affine_points(far, kit64) - affine_points(far, kit32)).max())
    assert 0 < max(moved) < 0.01 and sum(m > 0 for m in moved) > 10
