"""Geometric transforms (affine crops: standard, DARK, UDP; flips), training
augmentation recipes and input normalisation."""
from .affine import (PIXEL_STD, affine_points, box_center_scale, get_affine_transform, get_udp_warp_matrix,
                     invert_affine, square_crop, transform_preds, warp_image)
from .augment import RECIPES, AugmentRecipe, Augmented, StrongAugment, TopDownAugment, get_recipe
from .flip import flip_back, flip_image, flip_keypoints, flip_test_average
from .normalize import IMAGENET_MEAN, IMAGENET_STD, Normalize

__all__ = ["PIXEL_STD", "affine_points", "box_center_scale", "get_affine_transform", "get_udp_warp_matrix",
           "invert_affine", "square_crop", "transform_preds", "warp_image",
           "RECIPES", "AugmentRecipe", "Augmented", "StrongAugment", "TopDownAugment", "get_recipe",
           "flip_back", "flip_image", "flip_keypoints", "flip_test_average",
           "IMAGENET_MEAN", "IMAGENET_STD", "Normalize"]
