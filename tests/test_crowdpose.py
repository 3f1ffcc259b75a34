"""CrowdPose: loader on hand-written files, the CrowdPose evaluation protocol by hand, and the
converter of rendered COCO people to the CrowdPose format."""
import json
import math
import os

import cv2
import numpy as np
import pytest

from animalpose.keypoints import get_spec
from datasets.coco import load_coco_json
from datasets.crowdpose import CrowdPoseKeypoints, crowd_index
from datasets.errors import DatasetFormatError
from datasets.render.coco_writer import render_coco_split
from datasets.render.crowdpose_writer import convert_coco_split
from datasets.render.generate import CROWDPOSE_FIRST_ID, generate, get_preset
from evaluation import evaluate_coco
from evaluation.crowdpose_eval import CROWDPOSE_STATS, crowd_buckets, evaluate_crowdpose

SPEC = get_spec("crowdpose14")
COCO = get_spec("coco17")


# ---------------------------------------------------------------------------
# a hand-written CrowdPose split
# ---------------------------------------------------------------------------
def person14(x0, y0, w, h, labelled=14):
    """14 joints spread over the box [x0, x0 + w] x [y0, y0 + h]; the first ``labelled`` have v = 2."""
    u = np.linspace(0.05, 0.95, 14)
    kp = np.stack([x0 + w * u, y0 + h * u ** 2, np.full(14, 2.0)], 1)
    kp[labelled:] = 0.0
    return kp


def ann(aid, image_id, kp, bbox, **extra):
    """A CrowdPose annotation as the release writes it: no area, num_keypoints over the 12 limb joints."""
    kp = np.asarray(kp, float)
    a = {"num_keypoints": int((kp[:12, 2] > 0).sum()), "iscrowd": 0, "keypoints": kp.reshape(-1).tolist(),
         "image_id": image_id, "bbox": [float(v) for v in bbox], "category_id": 1, "id": aid}
    a.update(extra)
    return a


IMAGES = [  # one image per crowd level (toolkit buckets: < 0.2, [0.2, 0.8), >= 0.8)
    {"file_name": "101.jpg", "id": 101, "height": 200, "width": 300, "crowdIndex": 0.05},
    {"file_name": "102.jpg", "id": 102, "height": 200, "width": 300, "crowdIndex": 0.5},
    {"file_name": "103.jpg", "id": 103, "height": 200, "width": 300, "crowdIndex": 0.9},
]


def annotations():
    return [
        ann(1, 101, person14(20, 10, 60, 150), [20, 10, 60, 150]),
        ann(2, 101, np.zeros((14, 3)), [200, 20, 15, 30]),                 # unlabelled person, as in the release
        ann(3, 102, person14(30, 20, 80, 160), [30, 20, 80, 160]),
        ann(4, 102, person14(150, 30, 70, 140, labelled=10), [150, 30, 70, 140]),
        ann(5, 103, person14(40, 20, 90, 170), [40, 20, 90, 170]),
        ann(6, 103, person14(70, 30, 80, 160), [70, 30, 80, 160]),
    ]


def dataset(anns=None, images=None):
    return {"categories": [{"supercategory": "person", "id": 1, "name": "person", "keypoints": list(SPEC.joints),
                            "skeleton": []}],
            "images": images or IMAGES, "annotations": annotations() if anns is None else anns}


def write_root(root, data, split="val"):
    (root / "json").mkdir(parents=True, exist_ok=True)
    (root / "images").mkdir(exist_ok=True)
    for img in data["images"]:
        cv2.imwrite(str(root / "images" / img["file_name"]), np.zeros((img["height"], img["width"], 3), np.uint8))
    path = root / "json" / f"crowdpose_{split}.json"
    path.write_text(json.dumps(data))
    return path


def gt_as_results(data, skip_unlabelled=True):
    return [{"image_id": a["image_id"], "category_id": 1, "keypoints": list(a["keypoints"]), "score": 1.0}
            for a in data["annotations"] if not skip_unlabelled or any(np.asarray(a["keypoints"])[2::3] > 0)]


def test_loader_reads_the_release_layout(tmp_path):
    write_root(tmp_path, dataset())
    ds = CrowdPoseKeypoints.from_root(tmp_path, "val")
    assert ds.spec == "crowdpose14" and ds.num_joints == 14
    assert [ds.annotation(i).instance_id for i in range(len(ds))] == [1, 3, 4, 5, 6]   # unlabelled person dropped
    for i in range(len(ds)):
        s = ds.annotation(i)
        assert s.spec == "crowdpose14" and s.image is None
        assert s.keypoints.shape == (14, 3) and s.keypoints.dtype == np.float32
        assert s.image_path == str(tmp_path / "images" / f"{s.image_id}.jpg")
    a = ds.annotation(2)                                    # person 4: 10 labelled joints, no area in the file
    assert (a.keypoints[:, 2] > 0).sum() == 10
    assert a.extra == {"area": 70.0 * 140.0, "iscrowd": 0, "category_id": 1}
    np.testing.assert_allclose(a.bbox, [150, 30, 219, 169])
    assert [ds.crowd_index(i) for i in (101, 102, 103)] == [0.05, 0.5, 0.9]
    assert [p.instance_id for p in ds.people(103)] == [5, 6]
    assert ds[0].image.shape == (200, 300, 3)
    assert repr(ds).startswith("CrowdPoseKeypoints(")

    # flip pairs come from the spec: left/right partners, head and neck unpaired
    spec = get_spec(ds.annotation(0).spec)
    assert spec.flip_pairs == ((0, 1), (2, 3), (4, 5), (6, 7), (8, 9), (10, 11))
    for l, r in spec.flip_pairs:
        assert spec.joints[l].replace("left_", "right_") == spec.joints[r]
    kp = ds.annotation(0).keypoints
    flipped = spec.flip_keypoints(kp, 300)
    np.testing.assert_allclose(flipped[0, 0], 300 - kp[1, 0] - 1)          # left shoulder <- mirrored right one
    np.testing.assert_allclose(flipped[12:, 0], 300 - kp[12:, 0] - 1)      # head, neck stay in place


def test_format_errors_are_one_line_naming_the_file(tmp_path):
    anns = annotations()
    anns[3]["keypoints"] = anns[3]["keypoints"][:39]                       # 13 joints
    path = write_root(tmp_path, dataset(anns))
    with pytest.raises(DatasetFormatError) as e:
        CrowdPoseKeypoints.from_root(tmp_path, "val")
    msg = str(e.value)
    assert msg == f"{path}: annotation 4: keypoints has 39 numbers, expected 42 numbers (14 joints of spec crowdpose14)" and "\n" not in msg

    images = [dict(img) for img in IMAGES]
    images[1]["crowdIndex"] = "busy"
    path = write_root(tmp_path, dataset(images=images))
    with pytest.raises(DatasetFormatError, match="image 102: crowdIndex must be a number") as e:
        CrowdPoseKeypoints.from_root(tmp_path, "val")
    assert str(path) in str(e.value)

    with pytest.raises(DatasetFormatError, match="annotation file not found") as e:
        CrowdPoseKeypoints.from_root(tmp_path, "test")
    assert str(tmp_path / "json" / "crowdpose_test.json") in str(e.value)
    # the COCO loader still wants 17 joints
    with pytest.raises(DatasetFormatError, match="expected 51"):
        load_coco_json(write_root(tmp_path, dataset()))


# ---------------------------------------------------------------------------
# evaluation
# ---------------------------------------------------------------------------
def test_gt_as_predictions_scores_one_everywhere(tmp_path):
    data = dataset()
    stats = evaluate_crowdpose(data, gt_as_results(data))
    assert tuple(stats) == CROWDPOSE_STATS
    assert all(v == pytest.approx(1.0) for v in stats.values()), stats
    path = write_root(tmp_path, data)                                      # a path works as well
    assert evaluate_crowdpose(str(path), gt_as_results(data))["AP (H)"] == pytest.approx(1.0)
    # restricted to the easy image: the other buckets are empty
    easy = evaluate_crowdpose(data, gt_as_results(data), image_ids=[101])
    assert easy["AP"] == pytest.approx(1.0) and easy["AP (E)"] == pytest.approx(1.0)
    assert easy["AP (M)"] == easy["AP (H)"] == -1.0
    # a missed person in the hard image only lowers AP (H): recall 1/2, precision 1 -> 51 of 101 points
    res = [r for r in gt_as_results(data) if r["keypoints"] != data["annotations"][5]["keypoints"]]
    miss = evaluate_crowdpose(data, res)
    assert miss["AP (E)"] == pytest.approx(1.0) and miss["AP (M)"] == pytest.approx(1.0)
    assert miss["AP (H)"] == pytest.approx(51 / 101)
    assert miss["AR"] == pytest.approx(4 / 5)
    with pytest.raises(ValueError, match="expected 3 x 14"):
        evaluate_crowdpose(data, [dict(res[0], keypoints=res[0]["keypoints"][:39])])


def random_crowdpose(seed=0, n_images=30):
    """Random GT (14 joints, no area) and noisy predictions, built from ``Generator.random`` only."""
    rng = np.random.default_rng(seed)
    u = rng.random
    images, anns, results = [], [], []
    for i in range(n_images):
        image_id = 500 + i
        images.append({"file_name": f"{image_id}.jpg", "id": image_id, "height": 480, "width": 640,
                       "crowdIndex": round(1.2 * u(), 2)})
        for _ in range(1 + int(4 * u())):
            w, h = 20 + 180 * u(), 40 + 260 * u()
            x, y = (640 - w) * u(), (480 - h) * u()
            v = np.digitize(u(14), [0.2, 0.5])                              # 0: 20 %, 1: 30 %, 2: 50 %
            kp = np.stack([x + w * u(14), y + h * u(14), v], 1).round(2)
            kp[v == 0, :2] = 0
            anns.append({"num_keypoints": int((v[:12] > 0).sum()), "iscrowd": 0,
                         "keypoints": kp.reshape(-1).tolist(), "image_id": image_id,
                         "bbox": [round(float(b), 2) for b in (x, y, w, h)], "category_id": 1, "id": len(anns) + 1})
            if u() < 0.1:                                                   # missed person
                continue
            det = np.stack([x + w * u(14), y + h * u(14), 0.1 + 0.9 * u(14)], 1)
            noise = (u((14, 2)) - 0.5) * 0.4 * np.sqrt(w * h) * u()
            det[v > 0, :2] = kp[v > 0, :2] + noise[v > 0]
            results.append({"image_id": image_id, "category_id": 1, "keypoints": det.reshape(-1).tolist(),
                            "score": 0.2 + 0.8 * u()})
        if u() < 0.3:                                                       # false positive
            det = np.stack([640 * u(14), 480 * u(14), 0.1 + 0.9 * u(14)], 1)
            results.append({"image_id": image_id, "category_id": 1, "keypoints": det.reshape(-1).tolist(),
                            "score": 0.7 * u()})
    gt = {"categories": [{"supercategory": "person", "id": 1, "name": "person"}], "images": images,
          "annotations": anns}
    return gt, results


# xtcocotools 1.14.3 on random_crowdpose(): COCOeval(gt, dt, "keypoints_crowd", crowdpose14 sigmas,
# use_area=False), evaluate / accumulate / summarize; it rounds AP (E/M/H) to four decimals.
XTCOCOTOOLS = (0.41901902820742837, 0.6617139252058715, 0.42367042674416694, 0.6229508196721312,
               0.819672131147541, 0.639344262295082, 0.7375, 0.3668, 0.4493)


def test_matches_xtcocotools_on_random_poses():
    gt, res = random_crowdpose()
    stats = evaluate_crowdpose(gt, res)
    np.testing.assert_allclose(list(stats.values())[:6], XTCOCOTOOLS[:6], rtol=1e-12)
    np.testing.assert_allclose(list(stats.values())[6:], XTCOCOTOOLS[6:], atol=5e-5)
    # the paper-style 0.1 boundary moves images between easy and medium
    other = evaluate_crowdpose(gt, res, thresholds=(0.1, 0.8))
    assert other["AP (E)"] != pytest.approx(stats["AP (E)"]) and other["AP (H)"] == stats["AP (H)"]


def test_crowd_buckets_follow_the_toolkit_boundaries():
    imgs = [{"id": i, "crowdIndex": c} for i, c in enumerate([0.0, 0.15, 0.2, 0.79, 0.8, 1.3])]
    assert crowd_buckets(imgs) == {"easy": [0, 1], "medium": [2, 3], "hard": [4, 5]}
    assert crowd_buckets(imgs, (0.1, 0.8)) == {"easy": [0], "medium": [1, 2, 3], "hard": [4, 5]}
    with pytest.raises(ValueError, match="image 7 has no numeric crowdIndex"):
        crowd_buckets([{"id": 7}])


def test_oks_uses_053_box_area_by_hand():
    # one person, two labelled joints (left wrist, left hip), box 100 x 200; the file's area is ignored
    kp = np.zeros((14, 3))
    kp[SPEC.index("left_wrist")] = [50, 80, 2]
    kp[SPEC.index("left_hip")] = [60, 120, 2]
    gt = dataset([ann(1, 101, kp, [10, 20, 100, 200], area=20000.0)], images=[IMAGES[0]])
    del gt["annotations"][0]["num_keypoints"]                              # counted from the keypoints then
    moved = kp.copy()
    moved[SPEC.index("left_wrist"), 0] += 20.0                             # d = 20 px
    res = [{"image_id": 101, "category_id": 1, "keypoints": moved.reshape(-1).tolist(), "score": 0.9}]

    k2 = (2 * 0.062) ** 2                                                  # wrist sigma .062
    oks_053 = (1 + math.exp(-20.0 ** 2 / (2 * 0.53 * 100 * 200 * k2))) / 2  # 0.6466
    oks_area = (1 + math.exp(-20.0 ** 2 / (2 * 100 * 200 * k2))) / 2        # 0.7609 with the plain w * h
    assert 0.6 < oks_053 < 0.65 and 0.75 < oks_area < 0.8

    stats, ev = evaluate_crowdpose(gt, res, return_eval=True)
    assert ev.ious[101, 1][0, 0] == pytest.approx(oks_053)
    # matched at OKS .50, .55, .60 only: AP .5 = 1, AP .75 = 0, AP = AR = 3 / 10
    assert stats["AP .5"] == pytest.approx(1.0) and stats["AP .75"] == 0.0
    assert stats["AP"] == pytest.approx(0.3) and stats["AR"] == pytest.approx(0.3)
    assert stats["AP (E)"] == pytest.approx(0.3) and stats["AP (M)"] == stats["AP (H)"] == -1.0
    # the COCO protocol scales by the annotation's area: the .75 threshold flips
    gt["annotations"][0]["num_keypoints"] = 2
    coco = evaluate_coco(gt, res, sigmas="crowdpose14")
    assert coco["AP .75"] == pytest.approx(1.0) and coco["AP"] == pytest.approx(0.6)


def test_crowd_index_by_hand():
    a = np.zeros((14, 3))
    a[:4] = [[1, 1, 2], [5, 5, 2], [9, 9, 1], [25, 25, 2]]                 # 4 labelled; (25, 25) in B's box
    b = np.zeros((14, 3))
    b[:2] = [[3, 3, 2], [40, 40, 2]]                                       # 2 labelled; (3, 3) in A's box
    c = np.zeros((14, 3))                                                   # nothing labelled: left out, and its
    boxes = [[0, 0, 10, 10], [20, 20, 10, 10], [0, 0, 50, 50]]              # (0, 0) joints count nowhere
    assert crowd_index([a, b, c], boxes) == pytest.approx((1 / 4 + 1 / 2) / 2)
    assert crowd_index([a], boxes[:1]) == 0.0 and crowd_index(np.zeros((0, 14, 3)), np.zeros((0, 4))) == 0.0


# ---------------------------------------------------------------------------
# converter on rendered people
# ---------------------------------------------------------------------------
def reference_crowd_index(persons):
    """The paper's definition written with loops: mean over persons of
    (other persons' labelled joints inside my box) / (my labelled joints)."""
    ratios = []
    for i, (kp_i, (x, y, w, h)) in enumerate(persons):
        n_a = sum(1 for j in range(len(kp_i)) if kp_i[j][2] > 0)
        if n_a == 0:
            continue
        n_b = 0
        for k, (kp_k, _) in enumerate(persons):
            if k != i:
                n_b += sum(1 for px, py, v in kp_k if v > 0 and x <= px <= x + w and y <= py <= y + h)
        ratios.append(n_b / n_a)
    return sum(ratios) / len(ratios) if ratios else 0.0


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    root = tmp_path_factory.mktemp("crowdpose")
    render_coco_split(root / "coco", "val2017", num_images=10, seed=11, image_size=(192, 144),
                      multi_person_fraction=0.8)
    written = convert_coco_split(root / "coco", "val2017", root / "cp", "val", id_offset=1000)
    return root, written


def test_converter_output_reads_back_and_maps_the_joints(converted):
    root, written = converted
    coco = json.loads((root / "coco" / "annotations" / "person_keypoints_val2017.json").read_text())
    data = json.loads((root / "cp" / "json" / "crowdpose_val.json").read_text())
    assert [img["id"] for img in data["images"]] == [1000 + img["id"] for img in coco["images"]]
    assert all("area" not in a for a in data["annotations"])
    ds = CrowdPoseKeypoints.from_root(root / "cp", "val")
    assert len(ds) == len(coco["annotations"]) == len(written)
    coco_kp = {a["id"]: np.asarray(a["keypoints"], np.float32).reshape(17, 3) for a in coco["annotations"]}
    limbs = [j for j in SPEC.joints if j not in ("head", "neck")]
    src, dst = [COCO.index(j) for j in limbs], [SPEC.index(j) for j in limbs]
    heads = 0
    for i in range(len(ds)):
        s, w = ds.annotation(i), written[i]
        assert s.spec == "crowdpose14" and s.keypoints.shape == (14, 3) and s.instance_id == w["id"]
        np.testing.assert_array_equal(s.keypoints, w["keypoints"])
        ck = coco_kp[s.instance_id]
        np.testing.assert_array_equal(s.keypoints[dst], ck[src])              # 12 limb joints unchanged
        ls, rs = ck[COCO.index("left_shoulder")], ck[COCO.index("right_shoulder")]
        neck, head = s.keypoints[SPEC.index("neck")], s.keypoints[SPEC.index("head")]
        if ls[2] > 0 and rs[2] > 0:
            np.testing.assert_allclose(neck[:2], (ls[:2] + rs[:2]) / 2, atol=0.006)
            assert neck[2] == (2 if ls[2] == rs[2] == 2 else 1)
        else:
            assert list(neck) == [0, 0, 0] and list(head) == [0, 0, 0]
        if head[2] > 0:
            heads += 1
            assert head[1] < neck[1]                                           # head top above the neck
            assert 0 <= head[0] <= 191 and 0 <= head[1] <= 143
        else:
            assert list(head[:2]) == [0, 0]
        assert w["num_keypoints"] == int((s.keypoints[:12, 2] > 0).sum())
    assert heads >= len(ds) // 2

    # crowdIndex: the paper's definition, two decimals
    by_image = {}
    for a in data["annotations"]:
        by_image.setdefault(a["image_id"], []).append((np.reshape(a["keypoints"], (14, 3)).tolist(), a["bbox"]))
    cis = []
    for img in data["images"]:
        assert img["crowdIndex"] == round(reference_crowd_index(by_image.get(img["id"], [])), 2)
        assert ds.crowd_index(img["id"]) == img["crowdIndex"]
        cis.append(img["crowdIndex"])
        src_img = root / "coco" / "val2017" / f"{img['id'] - 1000:012d}.jpg"
        assert (root / "cp" / "images" / img["file_name"]).read_bytes() == src_img.read_bytes()
    assert max(cis) > 0 and min(cis) == 0.0


def test_converter_gt_as_predictions_and_determinism(converted, tmp_path):
    root, _ = converted
    path = root / "cp" / "json" / "crowdpose_val.json"
    data = json.loads(path.read_text())
    stats = evaluate_crowdpose(str(path), gt_as_results(data))
    assert stats["AP"] == pytest.approx(1.0) and stats["AR"] == pytest.approx(1.0)
    applied = [stats[k] for k in ("AP (E)", "AP (M)", "AP (H)") if stats[k] != -1.0]
    assert applied and all(v == pytest.approx(1.0) for v in applied)
    convert_coco_split(root / "coco", "val2017", tmp_path / "again", "val", id_offset=1000)
    assert (tmp_path / "again" / "json" / "crowdpose_val.json").read_bytes() == path.read_bytes()


def test_generate_only_crowdpose_matches_the_coco_part(tmp_path):
    m = generate("tiny", str(tmp_path / "a"), seed=2, parts=["coco", "crowdpose"])
    assert [j["part"] for j in m["jobs"]] == ["coco", "coco", "crowdpose", "crowdpose"]
    b = generate("tiny", str(tmp_path / "b"), seed=2, workers=2, parts=["crowdpose"])
    assert [j["part"] for j in b["jobs"]] == ["crowdpose", "crowdpose"]
    p = get_preset("tiny")
    for split, coco_split, first in (("train", "train2017", CROWDPOSE_FIRST_ID),
                                     ("val", "val2017", CROWDPOSE_FIRST_ID + p.coco_train)):
        a = (tmp_path / "a" / "crowdpose" / "json" / f"crowdpose_{split}.json").read_bytes()
        assert (tmp_path / "b" / "crowdpose" / "json" / f"crowdpose_{split}.json").read_bytes() == a
        cp = CrowdPoseKeypoints.from_root(tmp_path / "a" / "crowdpose", split)
        coco_dir = tmp_path / "a" / "coco" / "annotations"
        coco = json.loads((coco_dir / f"person_keypoints_{coco_split}.json").read_text())
        assert cp.image_ids == list(range(first, first + len(coco["images"])))
        assert len(cp) == len(coco["annotations"])
        shoulders = np.array([a["keypoints"][15:18] for a in coco["annotations"]], np.float32)  # COCO l. shoulder
        np.testing.assert_array_equal(np.stack([cp.annotation(i).keypoints[0] for i in range(len(cp))]), shoulders)
    assert sorted(os.listdir(tmp_path / "b" / "crowdpose" / "images")) == \
        [f"{i}.jpg" for i in range(CROWDPOSE_FIRST_ID, CROWDPOSE_FIRST_ID + p.coco_train + p.coco_val)]
