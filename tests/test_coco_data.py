"""COCO keypoints: procedural writer -> real on-disk format -> pycocotools loader."""
import contextlib
import io
import json
import os

import cv2
import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from animalpose.keypoints import get_spec
from datasets.coco import CocoKeypoints, clean_bbox
from datasets.errors import DatasetFormatError
from datasets.render import human
from datasets.render.coco_writer import render_coco_split

SPEC = get_spec("coco17")
J = {n: i for i, n in enumerate(SPEC.joints)}
SPLIT = "val2017"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    root = tmp_path_factory.mktemp("coco")
    written = render_coco_split(root, SPLIT, num_images=12, seed=7, image_size=(320, 240),
                                multi_person_fraction=0.5)
    return root, written


# ---------------------------------------------------------------------------
# round trip writer -> loader
# ---------------------------------------------------------------------------
def test_round_trip_keypoints_boxes_and_grouping(rendered):
    root, written = rendered
    assert os.path.isfile(root / "annotations" / f"person_keypoints_{SPLIT}.json")
    ds = CocoKeypoints.from_root(root, SPLIT)
    assert len(ds) == len(written) > 12
    by_id = {w["id"]: w for w in written}
    assert sorted(ds.annotation(i).instance_id for i in range(len(ds))) == sorted(by_id)

    for i in range(len(ds)):
        s = ds.annotation(i)
        w = by_id[s.instance_id]
        assert s.image is None and s.spec == "coco17" and s.image_id == w["image_id"]
        assert s.image_path == os.path.abspath(w["image_path"])
        assert s.keypoints.dtype == np.float32 and s.keypoints.shape == (17, 3)
        np.testing.assert_array_equal(s.keypoints, w["keypoints"])
        x, y, bw, bh = w["bbox"]
        assert 0 <= x and 0 <= y and x + bw <= 320 and y + bh <= 240      # silhouette box inside the image
        np.testing.assert_allclose(s.bbox, [x, y, x + bw - 1, y + bh - 1], atol=1e-6)
        assert s.extra == {"area": float(w["area"]), "iscrowd": 0, "category_id": 1}
        kp = w["keypoints"]
        assert np.all(kp[kp[:, 2] == 0, :2] == 0)                            # COCO: unlabelled -> 0, 0
        assert (kp[:, 2] > 0).sum() == w["num_keypoints"] >= 1
        vis = kp[kp[:, 2] == 2, :2]                                           # visible joints lie on the silhouette box
        assert np.all((vis >= [x - 1, y - 1]) & (vis <= [x + bw, y + bh]))

    s = ds[0]
    assert s.image.shape == (240, 320, 3) and s.image.dtype == np.uint8
    np.testing.assert_array_equal(s.image, cv2.imread(s.image_path)[:, :, ::-1])

    groups = {}
    for w in written:
        groups.setdefault(w["image_id"], []).append(w["id"])
    assert sorted(ds.image_ids) == list(range(1, 13)) and set(groups) == set(ds.image_ids)
    assert any(len(g) > 1 for g in groups.values())
    for image_id, ids in groups.items():
        people = ds.people(image_id)
        assert [p.instance_id for p in people] == ids
        assert all(p.image_id == image_id for p in people)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")   # pycocotools vs numpy 2 copy keyword
def test_segmentation_is_valid_for_pycocotools(rendered):
    root, written = rendered
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(root / "annotations" / f"person_keypoints_{SPLIT}.json"))
    cat = coco.loadCats(1)[0]
    assert cat["keypoints"] == list(SPEC.joints) and [16, 14] in cat["skeleton"] and len(cat["skeleton"]) == 19
    for ann in coco.dataset["annotations"]:
        assert ann["category_id"] == 1 and ann["iscrowd"] == 0 and len(ann["keypoints"]) == 51
        m = coco.annToMask(ann)
        assert 0.8 * ann["area"] <= m.sum() <= ann["area"]                  # contour polygon ~ pixel silhouette
        ys, xs = np.nonzero(m)
        x, y, w, h = ann["bbox"]
        assert xs.min() >= x and xs.max() <= x + w - 1 and ys.min() >= y and ys.max() <= y + h - 1


def test_cocoeval_gt_as_detections_gives_ap_1(rendered):
    root, _ = rendered
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(root / "annotations" / f"person_keypoints_{SPLIT}.json"))
        dets = [{"image_id": a["image_id"], "category_id": 1, "keypoints": a["keypoints"], "score": 1.0}
                for a in gt.dataset["annotations"]]
        ev = COCOeval(gt, gt.loadRes(dets), "keypoints")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    assert ev.stats[0] == pytest.approx(1.0)     # AP
    assert ev.stats[5] == pytest.approx(1.0)     # AR


# ---------------------------------------------------------------------------
# determinism
# ---------------------------------------------------------------------------
def _split_bytes(root):
    js = (root / "annotations" / f"person_keypoints_{SPLIT}.json").read_bytes()
    imgs = [cv2.imread(str(p)) for p in sorted((root / SPLIT).iterdir())]
    return js, imgs


def test_same_seed_is_identical_other_seed_differs(tmp_path):
    outs = {}
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        w = render_coco_split(tmp_path / name, SPLIT, num_images=5, seed=seed, multi_person_fraction=0.5)
        outs[name] = (_split_bytes(tmp_path / name), w)
    (ja, ia), wa = outs["a"]
    (jb, ib), wb = outs["b"]
    (jc, ic), _ = outs["c"]
    assert ja == jb
    assert len(ia) == len(ib) == 5
    for x, y in zip(ia, ib):
        np.testing.assert_array_equal(x, y)
    for x, y in zip(wa, wb):
        np.testing.assert_array_equal(x["keypoints"], y["keypoints"])
    assert ja != jc
    assert not any(np.array_equal(x, y) for x, y in zip(ia, ic))


# ---------------------------------------------------------------------------
# renderer semantics on hand-built scenes
# ---------------------------------------------------------------------------
def _person(x, y, depth, **pose):
    return human.HumanParams(root=(x, y), height=160.0, yaw=0.0, roll=0.0, depth=depth, pose=pose)


def test_visibility_follows_depth_order_between_people():
    # back person: right arm straight out sideways (past the left image border);
    # front person stands 15 px to its left side (image right), covering its left hip.
    back = _person(60.0, 120.0, depth=1.0, r_sh_abd=90.0, r_sh_flex=0.0, r_elbow=0.0)
    front = _person(75.0, 125.0, depth=0.0)
    scene = human.render_people([back, front], image_size=(200, 160), seed=0)
    kb, kf = scene.keypoints
    rig_b = scene.rigs[0]

    # left hip of the back person: inside the image, under the front person's torso -> occluded
    lh = rig_b.joints[J["left_hip"]]
    assert scene.masks[1][int(round(lh[1])), int(round(lh[0]))]
    assert kb[J["left_hip"], 2] == 1
    np.testing.assert_allclose(kb[J["left_hip"], :2], lh)
    # the same joint of the front person is in clear view
    assert kf[J["left_hip"], 2] == 2
    # right elbow of the out-stretched arm: in clear view
    assert 0 <= kb[J["right_elbow"], 0] < 30 and kb[J["right_elbow"], 2] == 2
    # right wrist: beyond the left border -> v = 0 and x = y = 0
    assert rig_b.joints[J["right_wrist"], 0] < 0
    np.testing.assert_array_equal(kb[J["right_wrist"]], [0.0, 0.0, 0.0])
    # silhouettes: nothing of the back person where the front one is
    assert not np.any(scene.masks[0] & scene.masks[1])
    # swapping the depths puts the back person's hip in view
    swapped = human.render_people([_person(60.0, 120.0, 0.0, r_sh_abd=90.0, r_elbow=0.0),
                                   _person(75.0, 125.0, 1.0)], image_size=(200, 160), seed=0)
    assert swapped.keypoints[0, J["left_hip"], 2] == 2


def test_left_right_naming_and_face_from_behind():
    front = human.render_people([_person(100.0, 110.0, 0.0)], image_size=(200, 200), seed=1).keypoints[0]
    back = human.render_people([human.HumanParams(root=(100.0, 110.0), height=160.0, yaw=180.0)],
                               image_size=(200, 200), seed=1).keypoints[0]
    for a, b in (("left_shoulder", "right_shoulder"), ("left_hip", "right_hip"), ("left_eye", "right_eye"),
                 ("left_ankle", "right_ankle")):
        assert front[J[a], 0] > front[J[b], 0]      # facing the camera: person's left on the image right
        assert back[J[a], 0] < back[J[b], 0]        # facing away: person's left on the image left
    face = [J["nose"], J["left_eye"], J["right_eye"]]
    assert np.all(front[face, 2] == 2)
    assert np.all(back[face, 2] == 1)               # behind the head, inside the image
    assert np.all(back[[J["left_shoulder"], J["right_shoulder"]], 2] == 2)


def test_random_people_facing_the_camera_keep_anatomical_sides():
    rng = np.random.default_rng(0)
    for _ in range(20):
        p = human.random_human(rng, (160.0, 120.0), 180.0, yaw=float(rng.uniform(-30, 30)))
        joints = human.pose_human(p).joints
        assert joints[J["left_shoulder"], 0] > joints[J["right_shoulder"], 0]
        assert joints[J["left_hip"], 0] > joints[J["right_hip"], 0]


# ---------------------------------------------------------------------------
# loader protocol and errors on hand-written files
# ---------------------------------------------------------------------------
def _write_coco(tmp_path, annotations, images=None):
    images = images or [{"id": 5, "file_name": "a.jpg", "width": 100, "height": 100}]
    (tmp_path / "annotations").mkdir(exist_ok=True)
    (tmp_path / "val").mkdir(exist_ok=True)
    for img in images:
        cv2.imwrite(str(tmp_path / "val" / img["file_name"]), np.zeros((img["height"], img["width"], 3), np.uint8))
    path = tmp_path / "annotations" / "person_keypoints_val.json"
    path.write_text(json.dumps({"images": images, "annotations": annotations,
                                "categories": [{"id": 1, "name": "person"}]}))
    return path


def _ann(aid, bbox, nvis=3, iscrowd=0, area=100.0):
    kp = [0.0] * 51
    for k in range(nvis):
        kp[3 * k: 3 * k + 3] = [20.0 + k, 30.0 + k, 2]
    return {"id": aid, "image_id": 5, "category_id": 1, "bbox": bbox, "keypoints": kp,
            "num_keypoints": nvis, "iscrowd": iscrowd, "area": area}


def test_clean_bbox_and_center_scale_hand_computed(tmp_path):
    _write_coco(tmp_path, [
        _ann(1, [10, 20, 30, 80]),
        _ann(2, [90, -10, 30, 20]),          # clipped at the top and right
        _ann(3, [10, 10, 20, 20], iscrowd=1),
        _ann(4, [10, 10, 20, 20], area=0.0),  # zero area: dropped
        _ann(5, [10, 10, 20, 20], nvis=0),    # no labelled joint: dropped
        _ann(6, [10, 10, 20, 20], nvis=2),
    ])
    ds = CocoKeypoints.from_root(tmp_path, "val")
    assert [ds.annotation(i).instance_id for i in range(len(ds))] == [1, 2, 6]
    a = ds.annotation(0)
    # x2 = min(99, 10 + 29) = 39, y2 = min(99, 20 + 79) = 99; w = 29 < 0.75 * 79 -> w = 59.25
    np.testing.assert_allclose(a.bbox, [10, 20, 39, 99])
    np.testing.assert_allclose(a.center, [24.5, 59.5])
    np.testing.assert_allclose(a.scale, [59.25 / 200 * 1.25, 79 / 200 * 1.25])   # 0.3703125, 0.49375
    b = ds.annotation(1)
    # x1 = 90, y1 = 0, x2 = min(99, 90 + 29) = 99, y2 = min(99, 0 + 19) = 19; w = 9 -> 0.75 * 19 = 14.25
    np.testing.assert_allclose(b.bbox, [90, 0, 99, 19])
    np.testing.assert_allclose(b.center, [94.5, 9.5])
    np.testing.assert_allclose(b.scale, [14.25 / 200 * 1.25, 19 / 200 * 1.25])
    np.testing.assert_array_equal(clean_bbox([10, 20, 30, 80], 100, 100), [10, 20, 39, 99])
    assert len(CocoKeypoints.from_root(tmp_path, "val", min_keypoints=3)) == 2
    assert [p.instance_id for p in ds.people(5)] == [1, 2, 4, 5, 6]   # non-crowd, unfiltered
    assert ds.crowd_boxes(5).shape == (1, 4)


def test_format_errors_name_the_file(tmp_path):
    missing = tmp_path / "annotations" / "person_keypoints_nope.json"
    with pytest.raises(DatasetFormatError, match="person_keypoints_nope.json") as e:
        CocoKeypoints.from_root(tmp_path, "nope")
    assert str(missing) in str(e.value)

    path = _write_coco(tmp_path, [_ann(1, [10, 20, 30, 80])])
    path.write_text('{"images": [}')
    with pytest.raises(DatasetFormatError, match="not valid JSON") as e:
        CocoKeypoints.from_root(tmp_path, "val")
    assert str(path) in str(e.value)

    path.write_text(json.dumps({"images": []}))
    with pytest.raises(DatasetFormatError, match="annotations") as e:
        CocoKeypoints.from_root(tmp_path, "val")
    assert str(path) in str(e.value)

    bad = _ann(7, [10, 20, 30, 80])
    bad["keypoints"] = bad["keypoints"][:50]
    path = _write_coco(tmp_path, [_ann(1, [10, 20, 30, 80]), bad])
    with pytest.raises(DatasetFormatError, match="annotation 7: keypoints has 50 numbers") as e:
        CocoKeypoints.from_root(tmp_path, "val")
    assert str(path) in str(e.value)

    _write_coco(tmp_path, [_ann(1, [10, 20, 30, 80])])
    ds = CocoKeypoints.from_root(tmp_path, "val")
    os.remove(tmp_path / "val" / "a.jpg")
    assert ds.annotation(0).image is None                 # annotation access needs no image
    with pytest.raises(DatasetFormatError) as e:
        ds[0]
    assert str(tmp_path / "val" / "a.jpg") in str(e.value)
