"""Geometric transforms: affine crops (standard, DARK, UDP), keypoint warping, flips."""
from .affine import (PIXEL_STD, affine_points, box_center_scale, get_affine_transform, get_udp_warp_matrix,
                     square_crop, transform_preds, warp_image)

__all__ = ["PIXEL_STD", "affine_points", "box_center_scale", "get_affine_transform", "get_udp_warp_matrix",
           "square_crop", "transform_preds", "warp_image"]
from .flip import flip_back, flip_image, flip_keypoints, flip_test_average  # noqa: E402

__all__ += ["flip_back", "flip_image", "flip_keypoints", "flip_test_average"]
