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
