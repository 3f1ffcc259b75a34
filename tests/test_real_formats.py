"""Hand-written files in the real layouts (not renderer output): mmpose's and the official
Animal-Pose, AP-10K-style COCO files, user specs, DeepLabCut projects, EXIF-rotated JPEGs."""
import csv
import json
import os

import cv2
import numpy as np
import pytest

from animalpose.keypoints import JointNameError, get_spec, joint_key
from datasets.animal_pose import AnimalPose, AnimalPoseCoco, open_animalpose
from datasets.coco import CocoKeypoints
from datasets.coco_keypoints import CocoKeypointSet, box_xyxy
from datasets.dlc import DLCProject
from datasets.errors import DatasetFormatError
from datasets.sample import read_image
from datasets.summary import summarize

MMPOSE_AP = ["L_Eye", "R_Eye", "L_EarBase", "R_EarBase", "Nose", "Throat", "TailBase", "Withers", "L_F_Elbow",
             "R_F_Elbow", "L_B_Elbow", "R_B_Elbow", "L_F_Knee", "R_F_Knee", "L_B_Knee", "R_B_Knee", "L_F_Paw",
             "R_F_Paw", "L_B_Paw", "R_B_Paw"]
OFFICIAL_AP = ["left_eye", "right_eye", "nose", "left_ear", "right_ear", "left_front_elbow", "right_front_elbow",
               "left_back_elbow", "right_back_elbow", "left_front_knee", "right_front_knee", "left_back_knee",
               "right_back_knee", "left_front_paw", "right_front_paw", "left_back_paw", "right_back_paw", "throat",
               "withers", "tail"]
AP10K = ["left_eye", "right_eye", "nose", "neck", "root_of_tail", "left_shoulder", "left_elbow", "left_front_paw",
         "right_shoulder", "right_elbow", "right_front_paw", "left_hip", "left_knee", "left_back_paw", "right_hip",
         "right_knee", "right_back_paw"]


def _image(path, w=200, h=150):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    cv2.imwrite(str(path), np.full((h, w, 3), 90, np.uint8))


def _joint_xy(k):
    """A distinct point per official-order joint k (so a wrong slot is visible)."""
    return 10.0 + 7 * k, 20.0 + 3 * k


def _animals():
    """Two animals in official order: (image, box x1 y1 x2 y2, (20, 3) keypoints, species)."""
    a = np.array([[*_joint_xy(k), 1] for k in range(20)], np.float32)
    a[[3, 16]] = 0                                            # r_earbase-ish and a paw not labelled
    b = a.copy()
    b[:, :2] += 30
    b[[0, 1, 2]] = 0
    return [(1, [5.0, 15.0, 160.0, 90.0], a, "dog"), (2, [30.0, 40.0, 190.0, 140.0], b, "cat")]


def _write_mmpose_animalpose(root):
    """mmpose's conversion: images a list, xywh boxes, mmpose joint order, one category 'animal'."""
    spec = get_spec("animalpose20")
    to_official = [OFFICIAL_AP.index(n) for n in
                   ["left_eye", "right_eye", "left_ear", "right_ear", "nose", "throat", "tail", "withers",
                    "left_front_elbow", "right_front_elbow", "left_back_elbow", "right_back_elbow",
                    "left_front_knee", "right_front_knee", "left_back_knee", "right_back_knee", "left_front_paw",
                    "right_front_paw", "left_back_paw", "right_back_paw"]]
    images, anns = [], []
    for n, (img, box, kp, _) in enumerate(_animals()):
        images.append({"id": img, "file_name": f"images/{img:04d}.jpg", "width": 200, "height": 150})
        _image(os.path.join(root, "images", f"{img:04d}.jpg"))
        kpm = kp[to_official]
        x1, y1, x2, y2 = box
        anns.append({"id": 100 + n, "image_id": img, "category_id": 1, "bbox": [x1, y1, x2 - x1, y2 - y1],
                     "keypoints": [float(v) for v in kpm.reshape(-1)], "num_keypoints": int((kpm[:, 2] > 0).sum()),
                     "iscrowd": 0, "area": (x2 - x1) * (y2 - y1)})
    doc = {"images": images, "annotations": anns,
           "categories": [{"id": 1, "name": "animal", "supercategory": "animal", "keypoints": MMPOSE_AP,
                           "skeleton": [[1, 2], [1, 3]]}]}
    os.makedirs(os.path.join(root, "annotations"), exist_ok=True)
    path = os.path.join(root, "annotations", "animalpose_val.json")
    with open(path, "w") as f:
        json.dump(doc, f)
    assert spec.num_joints == 20
    return path


def _write_official_animalpose(root):
    images, anns = {}, []
    for img, box, kp, species in _animals():
        images[str(img)] = f"{img:04d}.jpg"
        _image(os.path.join(root, "images", f"{img:04d}.jpg"))
        anns.append({"image_id": img, "bbox": box, "keypoints": kp.tolist(), "num_keypoints": 20,
                     "category_id": {"dog": 1, "cat": 2}[species]})
    cats = [{"id": i, "name": n, "supercategory": "animal", "keypoints": OFFICIAL_AP}
            for i, n in ((1, "dog"), (2, "cat"), (3, "sheep"), (4, "horse"), (5, "cow"))]
    path = os.path.join(root, "keypoints.json")
    with open(path, "w") as f:
        json.dump({"images": images, "annotations": anns, "categories": cats}, f)
    return path


def test_both_animalpose_distributions_read_into_the_same_samples(tmp_path):
    _write_mmpose_animalpose(str(tmp_path / "mm"))
    _write_official_animalpose(str(tmp_path / "off"))
    mm = open_animalpose(str(tmp_path / "mm"), "val")
    off = open_animalpose(str(tmp_path / "off"))
    assert isinstance(mm, AnimalPoseCoco) and isinstance(off, AnimalPose)
    assert mm.spec == off.spec == "animalpose20" and len(mm) == len(off) == 2
    spec = get_spec("animalpose20")
    for i, (_, box, kp, species) in enumerate(_animals()):
        a, b = mm.annotation(i), off.annotation(i)
        np.testing.assert_array_equal(a.keypoints[:, :2], b.keypoints[:, :2])
        np.testing.assert_array_equal(a.keypoints[:, 2] > 0, b.keypoints[:, 2] > 0)
        np.testing.assert_array_equal(a.bbox, np.float32(box))          # xywh -> x2 = x + w = xmax
        np.testing.assert_array_equal(b.bbox, np.float32(box))
        # every joint in its own slot: official index k is at the point _joint_xy(k)
        for k in range(20):
            if kp[k, 2] > 0:
                assert tuple(a.keypoints[k, :2]) == tuple(np.float32(kp[k, :2]))
        assert b.category == species and a.category == "animal"       # mmpose's file keeps no species
    # e.g. throat: mmpose position 5, official / animalpose20 position 17
    assert tuple(mm.annotation(0).keypoints[spec.index("throat"), :2]) == _joint_xy(17)


def test_official_keypoints_json_gives_coco_ground_truth_without_annotation_ids(tmp_path):
    from animalpose.engine.evaluator import _coco
    off = open_animalpose(_write_official_animalpose(str(tmp_path)))
    anns = [off.annotation(i) for i in range(len(off))]
    preds = np.stack([a.keypoints[:, :2] for a in anns]).astype(np.float64)
    scores = np.ones(preds.shape[:2])
    res = _coco(off, anns, preds, scores, "animalpose20")
    assert res["AP"] == pytest.approx(1.0)                             # perfect predictions
    worse = preds + 6.0
    assert _coco(off, anns, worse, scores, "animalpose20")["AP"] < 0.9


def test_species_filter_is_refused_on_mmpose_file(tmp_path):
    root = str(tmp_path / "mm")
    _write_mmpose_animalpose(root)
    with pytest.raises(DatasetFormatError, match="no category 'dog'"):
        open_animalpose(root, "val", categories=["dog"])


def _ap10k_file(tmp_path, order=AP10K, extra_anns=()):
    """Two species, joints listed in ``order``; annotation 3 is a crowd region, 4 has no labelled joint."""
    perm = [AP10K.index(n) if n in AP10K else k for k, n in enumerate(order)]
    base = np.array([[5.0 + 4 * k, 8.0 + 2 * k, 2] for k in range(17)], np.float32)
    images = [{"id": 7, "file_name": "000007.jpg", "width": 120, "height": 100},
              {"id": 9, "file_name": "000009.jpg", "width": 120, "height": 100}]
    for im in images:
        _image(tmp_path / "data" / im["file_name"], 120, 100)
    anns = [{"id": 1, "image_id": 7, "category_id": 3, "bbox": [10, 20, 30, 40], "iscrowd": 0, "area": 1200,
             "keypoints": base[perm].reshape(-1).tolist(), "num_keypoints": 17},
            {"id": 2, "image_id": 9, "category_id": 8, "bbox": [90, 80, 50, 50], "iscrowd": 0,
             "keypoints": (base[perm] + [1, 1, 0]).reshape(-1).tolist(), "num_keypoints": 17},
            {"id": 3, "image_id": 9, "category_id": 8, "bbox": [0, 0, 20, 20], "iscrowd": 1, "area": 400,
             "keypoints": [0] * 51, "num_keypoints": 0},
            {"id": 4, "image_id": 7, "category_id": 3, "bbox": [50, 50, 10, 10], "iscrowd": 0, "area": 100,
             "keypoints": [0] * 51}, *extra_anns]
    cats = [{"id": 3, "name": "dog", "supercategory": "Canidae", "keypoints": list(order), "skeleton": [[1, 2]]},
            {"id": 8, "name": "zebra", "supercategory": "Equidae", "keypoints": list(order), "skeleton": [[1, 2]]}]
    os.makedirs(tmp_path / "annotations", exist_ok=True)
    path = tmp_path / "annotations" / "ap10k-val-split1.json"
    path.write_text(json.dumps({"images": images, "annotations": anns, "categories": cats}))
    return str(path), base


def test_coco_style_file_in_another_joint_order_is_reordered_by_name(tmp_path):
    shuffled = AP10K[::-1]
    path, base = _ap10k_file(tmp_path, order=shuffled)
    ds = CocoKeypointSet(path, str(tmp_path / "data"))
    assert ds.spec == "ap10k17" and get_spec(ds.spec).sigmas is not None      # a built-in spec, by its names
    assert len(ds) == 2                                   # the crowd and the unlabelled annotation are no samples
    s = ds.annotation(0)
    np.testing.assert_array_equal(s.keypoints, base)     # back in AP-10K order
    assert s.category == "dog" and s.instance_id == 1
    np.testing.assert_array_equal(s.bbox, [10, 20, 39, 59])          # hrnet: x2 = x1 + w - 1
    gt = ds.coco_ground_truth()
    assert [a["id"] for a in gt["annotations"]] == [1, 4, 2, 3]      # all kept annotations, image order
    by_id = {a["id"]: a for a in gt["annotations"]}
    assert by_id[4]["num_keypoints"] == 0 and by_id[2]["area"] == 2500.0     # filled where the file lacks them
    assert by_id[1]["keypoints"][:3] == [5.0, 8.0, 2.0]


def test_box_conventions_hand_computed():
    np.testing.assert_array_equal(box_xyxy([10, 20, 30, 40], 100, 100, "hrnet"), [10, 20, 39, 59])
    np.testing.assert_array_equal(box_xyxy([10, 20, 30, 40], 100, 100, "mmpose"), [10, 20, 40, 60])
    np.testing.assert_array_equal(box_xyxy([90, 95, 20, 20], 100, 100, "hrnet"), [90, 95, 99, 99])
    np.testing.assert_array_equal(box_xyxy([-5, 95, 20, 20], 100, 100, "mmpose"), [0, 95, 15, 99])
    with pytest.raises(ValueError, match="box_convention"):
        box_xyxy([0, 0, 1, 1], 10, 10, "xyxy")


def test_category_filter_is_explicit(tmp_path):
    path, _ = _ap10k_file(tmp_path)
    zebra = CocoKeypointSet(path, str(tmp_path / "data"), categories=["zebra"], box_convention="mmpose")
    assert [zebra.annotation(i).instance_id for i in range(len(zebra))] == [2]
    np.testing.assert_array_equal(zebra.annotation(0).bbox, [90, 80, 119, 99])      # clipped to the image
    assert len(CocoKeypointSet(path, str(tmp_path / "data"), categories=[3])) == 1   # by id
    with pytest.raises(DatasetFormatError, match="no category 'lion'"):
        CocoKeypointSet(path, str(tmp_path / "data"), categories=["lion"])
    # the person loader refuses an animal file instead of reading it as people
    with pytest.raises(DatasetFormatError) as e:
        CocoKeypoints(path, str(tmp_path / "data"))
    assert str(e.value) == f"{path}: no category 'person' (the file has: dog (3), zebra (8))"


def test_names_that_match_nothing_are_refused_naming_file_and_joint(tmp_path):
    order = list(AP10K)
    order[4] = "tail_tip"
    path, _ = _ap10k_file(tmp_path, order=order)
    with pytest.raises(JointNameError) as e:
        CocoKeypointSet(path, str(tmp_path / "data"), spec="ap10k17")
    msg = str(e.value)
    assert msg.startswith(f"{path}: joint 'tail_tip' (position 4) matches no joint of spec ap10k17") and "\n" not in msg


def test_user_spec_yaml_reads_a_custom_species(tmp_path):
    spec_file = tmp_path / "locust.yaml"
    spec_file.write_text("name: locust4\njoints: [head, thorax, left_antenna, right_antenna]\n"
                         "skeleton: [[head, thorax]]\nsigmas: {head: 0.05, thorax: 0.06, left_antenna: 0.04, "
                         "right_antenna: 0.04}\n")
    images = [{"id": 1, "file_name": "a.png", "width": 50, "height": 40}]
    _image(tmp_path / "a.png", 50, 40)
    names = ["R_Antenna", "Thorax", "Head", "L_Antenna"]                   # another order and spelling
    kp = [30, 5, 2, 20, 20, 2, 10, 10, 2, 0, 0, 0]
    doc = {"images": images, "categories": [{"id": 1, "name": "locust", "keypoints": names}],
           "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [5, 2, 30, 30], "keypoints": kp}]}
    (tmp_path / "locust.json").write_text(json.dumps(doc))
    ds = CocoKeypointSet(str(tmp_path / "locust.json"), str(tmp_path), spec=str(spec_file))
    spec = get_spec(ds.spec)
    assert ds.spec == "locust4" and spec.flip_pairs == ((2, 3),)
    np.testing.assert_array_equal(ds.annotation(0).keypoints, [[10, 10, 2], [20, 20, 2], [0, 0, 0], [30, 5, 2]])
    # without a spec the file's own category becomes one (flip partners from L_/R_)
    own = CocoKeypointSet(str(tmp_path / "locust.json"), str(tmp_path))
    assert own.spec.startswith("locust4_") and get_spec(own.spec).flip_pairs == ((3, 0),)


def _write_dlc(project, three_columns=False, multi=False, scorer="Jane"):
    parts = ["snout", "leftear", "rightear", "tailbase"]
    cfg = (f"Task: openfield\nscorer: {scorer}\ndate: Oct30\nTrainingFraction:\n- 0.5\n" +
           ("multianimalproject: true\nbodyparts: MULTI!\nindividuals: [mus1, mus2]\nmultianimalbodyparts: "
            f"[{', '.join(parts)}]\nuniquebodyparts: [light]\n" if multi else
            "multianimalproject: false\nbodyparts:\n" + "".join(f"- {p}\n" for p in parts)))
    os.makedirs(project, exist_ok=True)
    with open(os.path.join(project, "config.yaml"), "w") as f:
        f.write(cfg)
    written = {}
    for video, frames in (("m4s1", 3), ("m3v1", 2)):
        vdir = os.path.join(project, "labeled-data", video)
        os.makedirs(vdir, exist_ok=True)
        n_idx = 3 if three_columns else 1
        pad = [""] * (n_idx - 1)
        inds = ["mus1", "mus2"] if multi else [None]
        cols = [(i, p) for i in inds for p in parts]
        rows = [["scorer"] + pad + [scorer] * (2 * len(cols) + (2 if multi else 0))]
        if multi:
            rows.append(["individuals"] + pad + [i for i, _ in cols for _ in "xy"] + ["single", "single"])
        rows.append(["bodyparts"] + pad + [p for _, p in cols for _ in "xy"] + (["light", "light"] if multi else []))
        rows.append(["coords"] + pad + ["x", "y"] * len(cols) + (["x", "y"] if multi else []))
        for f in range(frames):
            name = f"img{f:04d}.png"
            _image(os.path.join(vdir, name), 100, 80)
            cells, kp = [], np.zeros((len(inds), len(parts), 3), np.float32)
            for c, (i, p) in enumerate(cols):
                if (c + f) % 3 == 2:                                      # not labelled: empty cells
                    cells += ["", ""]
                else:
                    x, y = 10.0 + 11 * c + f, 5.0 + 7 * c + 2 * f
                    cells += [f"{x}", f"{y}"]
                    kp[inds.index(i), parts.index(p)] = [x, y, 2]
            index = ["labeled-data", video, name] if three_columns else [f"labeled-data/{video}/{name}"]
            rows.append(index + cells + (["50.0", "50.0"] if multi else []))
            written[(video, f)] = kp
        with open(os.path.join(vdir, f"CollectedData_{scorer}.csv"), "w", newline="") as fh:
            csv.writer(fh).writerows(rows)
    return parts, written


@pytest.mark.parametrize("three_columns", [False, True])
def test_dlc_project_one_and_three_column_index(tmp_path, three_columns):
    project = str(tmp_path / "openfield-Jane-2020-10-30")
    parts, written = _write_dlc(project, three_columns)
    ds = DLCProject(project, "all", margin=5)
    assert get_spec(ds.spec).joints == tuple(parts) and get_spec(ds.spec).flip_pairs == ((1, 2),)
    assert len(ds) == 5 and ds.videos == ["m3v1", "m4s1"]
    by_key = {(ds.annotation(i).video_id, ds.annotation(i).frame_id): ds.annotation(i) for i in range(len(ds))}
    for key, kp in written.items():
        s = by_key[key]
        np.testing.assert_array_equal(s.keypoints, kp[0])
        lab = kp[0][kp[0][:, 2] > 0, :2]
        lo, hi = lab.min(0) - 5, lab.max(0) + 5
        np.testing.assert_allclose(s.bbox, [max(lo[0], 0), max(lo[1], 0), min(hi[0], 99), min(hi[1], 79)])
    test = DLCProject(project, "test", test_videos=["m3v1"])
    train = DLCProject(project, "train", test_videos=["m3v1"])
    assert {test.annotation(i).video_id for i in range(len(test))} == {"m3v1"} and len(train) == 3
    frames = DLCProject(project, "test", split_by="frame")          # TrainingFraction 0.5 -> half the frames
    rest = DLCProject(project, "train", split_by="frame")
    assert len(frames) == 2 and len(rest) == 3          # round(0.5 * 5) = 2 frames (banker's rounding)
    assert not {frames.annotation(i).image_id for i in range(2)} & {rest.annotation(i).image_id for i in range(3)}


def test_dlc_multi_animal_and_bad_projects(tmp_path):
    project = str(tmp_path / "ma")
    parts, written = _write_dlc(project, three_columns=True, multi=True)
    ds = DLCProject(project)
    assert len(ds) == 10                                             # 5 frames x 2 mice, the unique part dropped
    s = ds.annotation(1)
    assert s.extra["individual"] == "mus2"
    np.testing.assert_array_equal(s.keypoints, written[(s.video_id, s.frame_id)][1])
    # a body part the config does not list
    bad = str(tmp_path / "bad")
    _write_dlc(bad)
    path = os.path.join(bad, "labeled-data", "m4s1", "CollectedData_Jane.csv")
    text = open(path).read().replace("tailbase", "tail", 2)
    open(path, "w").write(text)
    with pytest.raises(DatasetFormatError) as e:
        DLCProject(bad)
    assert str(e.value).startswith(f"{path}: body part 'tail' (column ") and "not in config.yaml" in str(e.value)
    # labels only as .h5
    h5 = str(tmp_path / "h5")
    _write_dlc(h5)
    for v in ("m4s1", "m3v1"):
        d = os.path.join(h5, "labeled-data", v)
        os.rename(os.path.join(d, "CollectedData_Jane.csv"), os.path.join(d, "CollectedData_Jane.h5"))
    with pytest.raises(DatasetFormatError, match="labels only as .h5"):
        DLCProject(h5)


def test_exif_orientation_is_ignored(tmp_path):
    from PIL import Image
    pixels = np.zeros((20, 40, 3), np.uint8)
    pixels[:, :20] = (255, 0, 0)                                     # left half red, as stored
    pixels[:, 20:] = (0, 0, 255)
    img = Image.fromarray(pixels)
    exif = img.getexif()
    exif[0x0112] = 6                                                 # "rotate 90 CW to display"
    path = str(tmp_path / "rotated.jpg")
    img.save(path, exif=exif.tobytes(), quality=95)
    assert Image.open(path).getexif().get(0x0112) == 6
    out = read_image(path)
    assert out.shape == (20, 40, 3)                                  # the stored frame, not 40 x 20
    assert out[10, 5, 0] > 200 and out[10, 5, 2] < 60 and out[10, 35, 2] > 200


def _count_from_coco_file(path, spec):
    """Labelled (v > 0) joints per spec joint name, counted straight from the JSON (non-crowd)."""
    doc = json.load(open(path))
    names = doc["categories"][0]["keypoints"]
    by_key = {joint_key(j): j for j in spec.joints}
    for j, alts in spec.aliases.items():
        for a in alts:
            by_key[joint_key(a)] = j
    counts = {j: 0 for j in spec.joints}
    for a in doc["annotations"]:
        if a.get("iscrowd", 0):
            continue
        for k, n in enumerate(names):
            if a["keypoints"][3 * k + 2] > 0:
                counts[by_key[joint_key(n)]] += 1
    return counts


def test_summary_per_joint_counts_equal_counts_from_the_files(tmp_path):
    mm = _write_mmpose_animalpose(str(tmp_path / "set" / "animalpose"))
    s = summarize(mm, str(tmp_path / "s1"))
    (one,) = s.values()
    assert one["format"] == "coco_keypoints" and one["spec"] == "animalpose20"
    assert one["labelled"] == _count_from_coco_file(mm, get_spec("animalpose20"))
    assert one["instances"] == 2 and one["images"] == 2
    ap10k, _ = _ap10k_file(tmp_path / "set" / "ap10k")
    project = str(tmp_path / "set" / "mouse")
    parts, written = _write_dlc(project)
    s = summarize(str(tmp_path / "set"), str(tmp_path / "s2"))
    assert s["animalpose/val"]["labelled"] == one["labelled"]
    ap = s["ap10k/val"]
    assert ap["format"] == "ap10k" and ap["labelled"] == _count_from_coco_file(ap10k, get_spec("ap10k17"))
    assert ap["skipped"] == {"crowd": 1, "no_labelled_joint": 1, "empty_box": 0}
    assert ap["categories"] == {"dog": 1, "zebra": 1}
    dlc = s["dlc/mouse"]
    direct = {p: 0 for p in parts}                                  # non-empty x cells per body part
    for v in ("m4s1", "m3v1"):
        rows = list(csv.reader(open(os.path.join(project, "labeled-data", v, "CollectedData_Jane.csv"))))
        for r in rows[3:]:
            for c in range(1, len(r), 2):
                if r[c]:
                    direct[rows[1][c]] += 1
    assert dlc["labelled"] == direct and dlc["format"] == "dlc" and dlc["videos"] == 2


TINY_HRNET = ["--set", "codec.input_size=[64, 64]", "--set", "codec.heatmap_size=[16, 16]",
              "--set", "train.epochs=1", "--set", "train.batch_size=4", "--set", "train.val_every=1",
              "--set", "train.workers=0", "--set", "eval.batch_size=8", "--set", "optim.warmup_iters=2",
              "--set", "model.name=hrnet_lite", "--set", "model.options={}"]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    from animalpose.cli import main
    out = str(tmp_path_factory.mktemp("rendered"))
    assert main(["generate", "--preset", "tiny", "--out", out, "--quiet", "--only", "ap10k", "dlc", "crowdpose"]) == 0
    return out


def test_summary_of_rendered_layouts_counts_like_the_files(rendered, tmp_path):
    s = summarize(rendered, str(tmp_path / "s"))
    assert set(s) == {"ap10k/train", "ap10k/val", "ap10k/test", "crowdpose/train", "crowdpose/val",
                      "dlc/demo-Renderer-2026-01-01"}
    for label, fname, spec in (("crowdpose/val", "crowdpose/json/crowdpose_val.json", "crowdpose14"),
                               ("ap10k/test", "ap10k/annotations/ap10k-test-split1.json", "ap10k17")):
        assert s[label]["spec"] == spec
        assert s[label]["labelled"] == _count_from_coco_file(os.path.join(rendered, fname), get_spec(spec))
    assert s["dlc/demo-Renderer-2026-01-01"]["videos"] == 2


def test_pretrain_and_evaluate_on_a_coco_style_animal_set(rendered, tmp_path):
    from animalpose.cli import main
    run = str(tmp_path / "ap10k")
    assert main(["pretrain", "--config", "ap10k_hrnet_w32_256x256", "--set", f"train_data.root={rendered}",
                 "--set", f"val_data.root={rendered}", *TINY_HRNET, "--out", run, "--quiet", "--device", "cpu"]) == 0
    assert main(["evaluate", "--checkpoint", os.path.join(run, "last.pt"), "--protocol", "coco",
                 "--out", str(tmp_path / "eval"), "--quiet", "--device", "cpu"]) == 0
    stats = json.load(open(tmp_path / "eval" / "coco_stats.json"))
    (st,) = stats.values()
    from evaluation import STATS_NAMES
    assert 0.0 <= st["AP"] <= 1.0 and list(st) == list(STATS_NAMES)
    # the same data named as a generic COCO-style file
    ann = os.path.join(rendered, "ap10k", "annotations", "ap10k-val-split1.json")
    assert main(["evaluate", "--checkpoint", os.path.join(run, "last.pt"), "--protocol", "pck-bbox",
                 "--dataset", "coco_keypoints", "--ann-file", ann, "--out", str(tmp_path / "eval2"), "--quiet",
                 "--device", "cpu"]) == 0
    report = json.load(open(tmp_path / "eval2" / "pck.json"))
    assert "left_eye" in json.dumps(report) or "l_eye" in json.dumps(report)


def test_pretrain_and_evaluate_on_a_dlc_project(rendered, tmp_path):
    from animalpose.cli import main
    project = os.path.join(rendered, "dlc", "demo-Renderer-2026-01-01")
    run = str(tmp_path / "dlc")
    data = ["--set", "spec=auto", "--set", "augment.recipe=hrnet", "--set", "eval.protocol=pck-bbox",
            "--set", f"train_data={{dataset: dlc, root: {project}, split: train}}",
            "--set", f"val_data={{dataset: dlc, root: {project}, split: test}}"]
    assert main(["pretrain", "--config", "ap10k_hrnet_w32_256x256", *data, *TINY_HRNET, "--out", run, "--quiet",
                 "--device", "cpu"]) == 0
    assert main(["evaluate", "--checkpoint", os.path.join(run, "last.pt"), "--out", str(tmp_path / "eval"),
                 "--quiet", "--device", "cpu"]) == 0
    report = json.load(open(tmp_path / "eval" / "pck.json"))
    assert "snout" in json.dumps(report)
    import torch
    meta = torch.load(os.path.join(run, "last.pt"), map_location="cpu", weights_only=True)
    assert meta["spec_definition"]["joints"][:3] == ["snout", "leftear", "rightear"]
