"""DEKR training targets as the official code builds them (issue 19 points 17, 18, 23): the person
area of the offset weights, the training image set, the multi-scale NMS threshold."""
import json

import cv2
import numpy as np
import pytest

from animalpose.codecs.dekr import DEKRCodec
from animalpose.engine.bottomup import BottomUpDataset, official_offset_area
from animalpose.engine.config import BottomUpConfig, load_experiment
from animalpose.engine.data import build_normalize
from animalpose.keypoints import get_spec
from datasets.coco import CocoKeypoints


def _person(joints, area=5000.0):
    kp = np.zeros((17, 3))
    for j, (x, y) in joints.items():
        kp[j] = [x, y, 2]
    return kp


def _write(tmp_path, images):
    """``images``: list of (image id, [annotation dicts]) on 128x128 images."""
    d = tmp_path / "imgs"
    d.mkdir(exist_ok=True)
    doc = {"images": [], "annotations": [], "categories": [{"id": 1, "name": "person",
                                                            "keypoints": list(get_spec("coco17").joints)}]}
    aid = 1
    for image_id, anns in images:
        name = f"{image_id:06d}.jpg"
        cv2.imwrite(str(d / name), np.full((128, 128, 3), 100, np.uint8))
        doc["images"].append({"id": image_id, "file_name": name, "width": 128, "height": 128})
        for a in anns:
            doc["annotations"].append({"id": aid, "image_id": image_id, "category_id": 1, **a})
            aid += 1
    path = tmp_path / "person_keypoints.json"
    path.write_text(json.dumps(doc))
    return CocoKeypoints(str(path), str(d))


def _ann(kp, iscrowd=0, area=5000.0):
    return {"keypoints": [float(v) for v in kp.reshape(-1)], "bbox": [0, 0, 100, 100], "area": area,
            "iscrowd": iscrowd, "num_keypoints": int((kp[:, 2] > 0).sum()), "segmentation": [[0, 0, 10, 0, 10, 10]]}


A = _person({0: (30, 30), 5: (70, 70)})        # centre (50, 50): heatmap (6.25, 6.25)
B = _person({0: (65, 65), 5: (75, 75)})        # centre (70, 70): heatmap (8.75, 8.75)


def test_official_area_includes_the_origin_and_every_row():
    # A: rows span x, y in [0, 70] (unlabelled joints and the centre row at (0, 0)): 70^2 + 70^2
    np.testing.assert_allclose(official_offset_area(np.stack([A, B])), [9800.0, 11250.0])
    from animalpose.codecs.dekr import joint_areas
    np.testing.assert_allclose(joint_areas(np.stack([A, B])), [3200.0, 200.0])     # the labelled extent


@pytest.mark.parametrize("mode", ["official", "labelled"])
def test_offset_weights_and_overlap_winner_on_a_hand_made_two_person_sample(tmp_path, mode):
    src = _write(tmp_path, [(1, [_ann(A), _ann(B)])])
    codec = DEKRCodec(input_size=(64, 64), heatmap_size=(16, 16))
    cfg = BottomUpConfig(offset_area=mode)
    ds = BottomUpDataset(src, "coco17", codec, cfg, build_normalize(load_experiment("demo_human_dekr").normalize),
                         augment=False)
    item = ds[0]
    off, wt = item["offsets"].numpy(), item["offset_weights"].numpy()
    # image -> heatmap: x / 8 (scale 128 / 200, input 64, heatmap 16); pixel (6, 6) is in both squares
    if mode == "official":
        # areas scaled to input pixels (x 0.5 per axis): A 2450, B 2812.5 -> A is smaller and wins
        assert off[0, 6, 6] == pytest.approx(6 - 30 / 8) and off[1, 6, 6] == pytest.approx(6 - 30 / 8)
        assert wt[0, 6, 6] == pytest.approx(1 / np.sqrt(9800 * 0.25), rel=1e-6)
        # a pixel only B's square covers: B's weight
        assert wt[0, 11, 11] == pytest.approx(1 / np.sqrt(11250 * 0.25), rel=1e-6)
    else:
        # the labelled extent in heatmap pixels: A 50, B 3.125 -> B wins
        assert off[0, 6, 6] == pytest.approx(6 - 65 / 8)
        assert wt[0, 6, 6] == pytest.approx(1 / np.sqrt(3.125), rel=1e-6)
    # joints without a label get no offset
    assert not wt[2].any() and not off[2].any()


def test_training_images_keep_crowd_only_and_unlabelled_only_images(tmp_path):
    crowd = {"keypoints": [0.0] * 51, "bbox": [10, 10, 40, 40], "area": 1600.0, "iscrowd": 1, "num_keypoints": 0,
             "segmentation": {"counts": [0, 16384], "size": [128, 128]}}
    unlabelled = _ann(np.zeros((17, 3)))
    src = _write(tmp_path, [(1, [_ann(A)]), (2, [crowd]), (3, [unlabelled]), (4, [])])
    codec = DEKRCodec(input_size=(64, 64), heatmap_size=(16, 16))
    norm = build_normalize(load_experiment("demo_human_dekr").normalize)
    official = BottomUpDataset(src, "coco17", codec, BottomUpConfig(), norm, augment=False)
    assert official.image_ids == [1, 2, 3]                   # every image with an annotation (DEKR)
    item = official[1]                                        # crowd only: no joint, a masked region
    assert not item["offset_weights"].any() and float(item["heatmaps"].max()) == 0.0
    assert float(item["mask"].min()) == 0.0
    kit = BottomUpDataset(src, "coco17", codec, BottomUpConfig(train_images="with_people"), norm, augment=False)
    assert kit.image_ids == [1]


def test_bottomup_options_are_checked():
    with pytest.raises(ValueError, match="bottomup.offset_area must be official or labelled"):
        BottomUpConfig(offset_area="bbox")
    with pytest.raises(ValueError, match="bottomup.multi_scale_nms_threshold must be a finite number > 0"):
        BottomUpConfig(multi_scale_nms_threshold=0)


# ---------------------------------------------------------------- official quirks (issue 19 point 25)
def _pose(joints):
    kp = np.zeros((17, 3))
    for j, (x, y) in joints.items():
        kp[j] = [x, y, 2]
    return kp


def test_reference_writer_without_quirks_equals_the_kit_writer():
    from animalpose.codecs.dekr import person_centers
    rng = np.random.default_rng(0)
    codec = DEKRCodec(input_size=(64, 64), heatmap_size=(16, 16))
    for _ in range(20):
        kp = np.concatenate([rng.uniform(-1, 17, (4, 17, 2)) + 0.013, rng.integers(0, 3, (4, 17, 1))], -1)
        ctr, ok = person_centers(kp)
        centers = np.concatenate([ctr, ok[:, None].astype(float)], 1)
        area = rng.permutation(4) * 37.0 + 11.0                  # distinct areas: no ties
        a = codec._offsets(kp, centers, area, (16, 16))
        b = codec._offsets_reference(kp, centers, area, (16, 16))
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])


@pytest.mark.parametrize("area_map, dtype, j1_owner", [("per_joint", "float64", "B"), ("per_joint", "float32", "B"),
                                                       ("shared", "float64", "B"), ("shared", "float32", "A")])
def test_float32_shared_area_map_lets_the_larger_person_keep_later_joints(area_map, dtype, j1_owner):
    a = _pose({0: (4.3, 4.3), 1: (5.7, 5.7)})                   # centre (5, 5), area 2000
    b = _pose({0: (4.6, 4.4), 1: (5.4, 5.6)})                   # centre (5, 5), area 1000.1: float32 rounds it down
    assert np.float64(np.float32(1000.1)) < np.float64(1000.1)
    codec = DEKRCodec(input_size=(64, 64), heatmap_size=(16, 16), area_map=area_map, area_map_dtype=dtype)
    enc = codec.encode_hm(np.stack([a, b]), areas=[2000.0, 1000.1])
    off, wt = enc["offsets"], enc["offset_weights"]
    assert off[0, 5, 5] == pytest.approx(5 - 4.6)                # joint 0: B (smaller) always wins
    x1 = {"A": 5.7, "B": 5.4}[j1_owner]
    assert off[2, 5, 5] == pytest.approx(5 - x1)
    assert wt[2, 5, 5] == pytest.approx(1 / np.sqrt(2000.0 if j1_owner == "A" else 1000.1), rel=1e-6)


@pytest.mark.parametrize("area_map, j1_owner", [("per_joint", "C"), ("shared", "A")])
def test_shared_area_map_compares_with_the_last_writer_of_any_joint(area_map, j1_owner):
    a = _pose({0: (5.2, 5.2), 1: (6.6, 6.6)})                   # area 100, writes joints 0 and 1
    b = _pose({0: (5.3, 5.5)})                                  # area 50, joint 0 only: the shared map holds 50
    c = _pose({1: (5.7, 5.1)})                                  # area 70, joint 1: smaller than A, larger than 50
    codec = DEKRCodec(input_size=(64, 64), heatmap_size=(16, 16), area_map=area_map)
    off = codec.encode_hm(np.stack([a, b, c]), areas=[100.0, 50.0, 70.0])["offsets"]
    assert off[2, 5, 5] == pytest.approx(5 - {"A": 6.6, "C": 5.7}[j1_owner])


@pytest.mark.parametrize("test, written", [("position", False), ("truncated", True)])
def test_truncated_centre_in_minus_one_zero_writes_offsets(test, written):
    p = _pose({0: (1.0, 3.0), 1: (-2.0, 3.0)})                  # centre (-0.5, 3); joint 1 is off the map
    codec = DEKRCodec(input_size=(64, 64), heatmap_size=(16, 16), center_test=test)
    off, wt = (codec.encode_hm(p[None], areas=[40.0])[k] for k in ("offsets", "offset_weights"))
    assert bool(wt.any()) is written
    if written:                                                  # int(-0.5) = 0: the square [0, 4) x [0, 7)
        assert np.array_equal(np.argwhere(wt[0] > 0).min(0), [0, 0]) and np.array_equal(
            np.argwhere(wt[0] > 0).max(0), [6, 3])
        assert off[0, 3, 2] == pytest.approx(1.0) and not wt[2:].any()


@pytest.mark.parametrize("mode", ["none", "origin"])
def test_unlabelled_person_gets_a_centre_at_the_origin_as_dekr(tmp_path, mode):
    src = _write(tmp_path, [(1, [_ann(np.zeros((17, 3)))])])   # area 5000 >= 32^2, no labelled joint
    codec = DEKRCodec(input_size=(64, 64), heatmap_size=(16, 16))
    ds = BottomUpDataset(src, "coco17", codec, BottomUpConfig(unlabelled_center=mode),
                         build_normalize(load_experiment("demo_human_dekr").normalize), augment=False)
    centre = ds[0]["heatmaps"][17].numpy()
    if mode == "origin":                                        # image (0, 0) -> heatmap (0, 0)
        assert centre[0, 0] == pytest.approx(1.0) and centre.argmax() == 0
    else:
        assert centre.max() == 0.0
    assert not ds[0]["offset_weights"].any()


@pytest.mark.parametrize("convention, nose_x", [("exact", (127 - 30 - 64) / 8 + 8), ("official", 15 - 3.75)])
def test_flip_conventions(tmp_path, convention, nose_x):
    src = _write(tmp_path, [(1, [_ann(A)])])
    codec = DEKRCodec(input_size=(64, 64), heatmap_size=(16, 16))
    norm = build_normalize(load_experiment("demo_human_dekr").normalize)
    still = dict(max_rotation=0.0, min_scale=1.0, max_scale=1.0, max_translate=0.0, flip_convention=convention)
    flipped = BottomUpDataset(src, "coco17", codec, BottomUpConfig(flip_prob=1.0, **still), norm)[0]
    plain = BottomUpDataset(src, "coco17", codec, BottomUpConfig(flip_prob=0.0, **still), norm)[0]
    wt, off = flipped["offset_weights"].numpy(), flipped["offsets"].numpy()
    ys, xs = np.nonzero(wt[0])
    np.testing.assert_allclose(xs - off[0, ys, xs], nose_x, atol=1e-5)     # the nose (joint 0) on the heatmap
    # plain: image (30, 30) -> heatmap 3.75
    ys, xs = np.nonzero(plain["offset_weights"].numpy()[0])
    np.testing.assert_allclose(xs - plain["offsets"].numpy()[0, ys, xs], 3.75, atol=1e-5)
    if convention == "official":                               # the warped input itself is mirrored
        assert torch_equal(flipped["image"], plain["image"].flip(-1))


def torch_equal(a, b):
    import torch
    return bool(torch.equal(a, b))


def test_quirk_options_are_checked():
    with pytest.raises(ValueError, match="codec option area_map must be one of per_joint | shared"):
        DEKRCodec(area_map="global")
    with pytest.raises(ValueError, match="bottomup.flip_convention must be exact or official"):
        BottomUpConfig(flip_convention="mmpose")
    with pytest.raises(ValueError, match="bottomup.unlabelled_center must be none or origin"):
        BottomUpConfig(unlabelled_center="centre")
