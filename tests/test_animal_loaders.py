import json
import os
import shutil

import cv2

import numpy as np
import pytest
import scipy.io

from datasets import DatasetFormatError
from datasets.animal_pose import AnimalPose
from datasets.synthetic_animal import VERTEX_IDS, SyntheticAnimal
from datasets.tigdog import TigDog, load_frames, video_split


# --------------------------------------------------------------------- synthetic
def test_synthetic_round_trip_all_images(animal_data):
    root, written = animal_data
    ds = SyntheticAnimal(os.path.join(root, "synthetic_animal"), "horse", "all")
    assert len(ds) == len(written["synthetic_horse"])
    for i, w in enumerate(written["synthetic_horse"]):
        s = ds.annotation(i)
        assert s.image_path == w["prefix"] + "img.png"
        np.testing.assert_array_equal(s.keypoints, w["joints"])
        v = w["vertices"]
        x1, y1 = np.clip(v[:, 0].min(), 0, 160), np.clip(v[:, 1].min(), 0, 120)
        x2, y2 = np.clip(v[:, 0].max(), 0, 160), np.clip(v[:, 1].max(), 0, 120)
        np.testing.assert_allclose(s.bbox, [x1, y1, x2, y2], rtol=1e-6)
        side = 1.25 * max(x2 - x1, y2 - y1) / 200
        np.testing.assert_allclose(s.scale, [side, side], rtol=1e-5)
        np.testing.assert_allclose(s.center, [(x1 + x2) / 2, (y1 + y2) / 2], rtol=1e-5)
    img = ds[0].image
    assert img.shape == (120, 160, 3) and img.dtype == np.uint8
    assert ds.mask(0).shape == (120, 160)


def test_synthetic_split_files_partition_the_images(animal_data):
    root, _ = animal_data
    base = os.path.join(root, "synthetic_animal")
    tr, va, al = (SyntheticAnimal(base, "tiger", s) for s in ("train", "valid", "all"))
    ids_tr = {tr.annotation(i).image_id for i in range(len(tr))}
    ids_va = {va.annotation(i).image_id for i in range(len(va))}
    assert not ids_tr & ids_va and len(ids_tr | ids_va) == len(al) == 6


def test_synthetic_18_row_files_filter_and_occlusion_flag(tmp_path, animal_data):
    root, written = animal_data
    src = os.path.join(root, "synthetic_animal", "horse_combineds5r5_texture")
    dst = tmp_path / "synthetic_animal" / "custom_combineds5r5_texture"
    shutil.copytree(src, dst)
    joints = [w["joints"] for w in written["synthetic_horse"]]
    files = sorted(p for p in os.listdir(dst) if p.endswith("kpts.npy"))
    for f, j in zip(files, joints):
        np.save(dst / f, j)                       # direct 18 x 3 files, no vertex table needed
    few = joints[0].copy()
    few[:, 2] = 0
    few[:5, 2] = 1                                # 5 visible < 6: dropped by the filter
    np.save(dst / files[0], few)
    ds = SyntheticAnimal(str(tmp_path / "synthetic_animal"), "custom", "all")
    assert len(ds) == len(joints) - 1
    np.testing.assert_array_equal(ds.annotation(0).keypoints, joints[1])
    occl = SyntheticAnimal(str(tmp_path / "synthetic_animal"), "custom", "all", occlusion_visible=True)
    kp = occl.annotation(0).keypoints
    inside = (kp[:, 0] >= 0) & (kp[:, 0] < 160) & (kp[:, 1] >= 0) & (kp[:, 1] < 120)
    np.testing.assert_array_equal(kp[:, 2], inside.astype(np.float32))


def test_synthetic_errors_name_the_file(tmp_path):
    d = tmp_path / "synthetic_animal" / "horse_combineds5r5_texture"
    d.mkdir(parents=True)
    with pytest.raises(DatasetFormatError, match="no \\*img.png"):
        SyntheticAnimal(str(tmp_path / "synthetic_animal"), "horse", "all")
    import cv2
    cv2.imwrite(str(d / "00000_x_img.png"), np.zeros((4, 4, 3), np.uint8))
    np.save(d / "00000_x_kpts.npy", np.zeros((7, 3)))
    with pytest.raises(DatasetFormatError, match=r"00000_x_kpts\.npy: expected an array of shape"):
        SyntheticAnimal(str(tmp_path / "synthetic_animal"), "horse", "all")
    with pytest.raises(DatasetFormatError, match=r"train_idxs\.npy: split index file not found"):
        SyntheticAnimal(str(tmp_path / "synthetic_animal"), "horse", "train")
    with pytest.raises(DatasetFormatError, match="folder not found"):
        SyntheticAnimal(str(tmp_path / "nowhere"), "horse")
    assert VERTEX_IDS["horse"][0] == 1718


def test_synthetic_animal_without_a_table_reads_with_given_vertex_ids(tmp_path):
    # an elephant-like mesh of 4000 vertices: its 18 joint vertices are not in the kit's facts
    d = tmp_path / "synthetic_animal" / "elephant_combineds5r5_texture"
    d.mkdir(parents=True)
    cv2.imwrite(str(d / "00000_x_img.png"), np.zeros((480, 640, 3), np.uint8))
    verts = np.zeros((4000, 3), np.float32)
    verts[:, 0], verts[:, 1], verts[:, 2] = np.arange(4000) % 600, np.arange(4000) % 400, 1
    np.save(d / "00000_x_kpts.npy", verts)
    ids = list(range(100, 4000, 200))[:18]
    with pytest.raises(DatasetFormatError, match=r"got \(4000, 3\); a mesh of another size needs the data option vertex_ids"):
        SyntheticAnimal(str(tmp_path / "synthetic_animal"), "elephant", "all")
    ds = SyntheticAnimal(str(tmp_path / "synthetic_animal"), "elephant", "all", vertex_ids=ids)
    a = ds.annotation(0)
    np.testing.assert_array_equal(a.keypoints[:, 0], np.asarray(ids) % 600)
    np.testing.assert_array_equal(a.keypoints[:, 1], np.asarray(ids) % 400)
    np.testing.assert_array_equal(a.bbox, [0, 0, 599, 399])          # the box spans all mesh vertices
    with pytest.raises(DatasetFormatError, match="vertex_ids go up to 5000 but the file has 4000 vertices"):
        SyntheticAnimal(str(tmp_path / "synthetic_animal"), "elephant", "all", vertex_ids=ids[:17] + [5000])
    from animalpose.engine.config import DataConfig
    with pytest.raises(ValueError, match="vertex_ids must be 18"):
        DataConfig(vertex_ids=[1, 2, 3])


# --------------------------------------------------------------------- TigDog
@pytest.mark.parametrize("animal", ["horse", "tiger"])
def test_tigdog_round_trip_with_filter(animal_data, animal):
    root, written = animal_data
    ds = TigDog(root, animal, "all")
    expected = [w for w in written[f"tigdog_{animal}"] if (w["joints"][:, 2] > 0).sum() > 9]
    assert len(ds) == len(expected) > 0
    for i, w in enumerate(expected):
        s = ds.annotation(i)
        assert s.image_path == w["path"] and s.video_id == w["shot_id"] and s.frame_id == w["frame_id"]
        np.testing.assert_array_equal(s.keypoints, w["joints"])
    assert ds[0].image.shape == (120, 160, 3)


def test_tigdog_files_have_reference_structure_and_tiger_is_stored_raw(animal_data):
    root, written = animal_data
    base = os.path.join(root, "behaviorDiscovery2.0")
    ranges = scipy.io.loadmat(os.path.join(base, "ranges", "tiger", "ranges.mat"))["ranges"]
    assert ranges.shape == (4, 3)                        # 3 labelled + 1 unlabelled shot
    np.testing.assert_array_equal(ranges[:, 2] - ranges[:, 1] + 1, 6)
    assert not os.path.exists(os.path.join(base, "landmarks", "tiger", f"{ranges[-1, 0]}.mat"))
    assert os.path.exists(os.path.join(base, "tiger", f"{ranges[-1, 2]:08d}.jpg"))  # frames exist, unlabelled
    lm = scipy.io.loadmat(os.path.join(base, "landmarks", "tiger", f"{ranges[0, 0]}.mat"))["landmarks"]
    coords, vis = lm[0][0][0][0][0], lm[0][0][0][0][1]
    assert coords.shape == (19, 2) and vis.shape == (19, 1)
    canon = written["tigdog_tiger"][0]["joints"]
    perm = np.array([1, 2, 3, 4, 5, 6, 7, 8, 15, 16, 17, 18, 13, 14, 9, 10, 11, 12]) - 1
    np.testing.assert_allclose(coords[:18][perm], canon[:, :2], rtol=1e-6)  # raw tiger order on disk
    raw = load_frames(root, "tiger", remap_tiger=False)[0].joints
    np.testing.assert_allclose(raw[perm], canon, rtol=1e-6)


def test_tigdog_split_by_video(animal_data):
    root, _ = animal_data
    tr, te, al = (TigDog(root, "horse", s) for s in ("train", "test", "all"))
    assert set(tr.shot_ids).isdisjoint(te.shot_ids) and len(te.shot_ids) == 1
    assert len(tr) + len(te) == len(al)
    train, test = video_split([5, 1, 3, 3, 9], 0.2, seed=0)
    assert sorted(train + test) == [1, 3, 5, 9] and len(test) == 1
    assert video_split([5, 1, 3, 9], 0.2, seed=0) == (train, test)  # deterministic


def test_tigdog_official_split_files(animal_data, tmp_path):
    root, written = animal_data
    frames = written["tigdog_horse"]
    d = tmp_path / "split"
    d.mkdir()
    np.save(d / "train_idxs_by_video.npy", np.array([0, 2, 3]))
    np.save(d / "valid_idxs_by_video.npy", np.array([len(frames) - 1]))
    tr = TigDog(root, "horse", "train", split_dir=str(d), min_visible=0)
    assert [tr.annotation(i).image_path for i in range(len(tr))] == [frames[i]["path"] for i in (0, 2, 3)]
    np.save(d / "valid_idxs_by_video.npy", np.array([10 ** 6]))
    with pytest.raises(DatasetFormatError, match="valid_idxs_by_video.npy: indices out of range"):
        TigDog(root, "horse", "test", split_dir=str(d))


def test_tigdog_crop_protocols_hand_computed(animal_data):
    root, _ = animal_data
    cc = TigDog(root, "horse", "all", crop="ccssl").annotation(0)
    ud = TigDog(root, "horse", "all", crop="uda").annotation(0)
    kp = cc.keypoints
    xs, ys = kp[kp[:, 0] > 0, 0], kp[kp[:, 1] > 0, 1]
    x1, x2, y1, y2 = xs.min(), xs.max(), ys.min(), ys.max()
    np.testing.assert_allclose(cc.center, [(x1 + x2) / 2, (y1 + y2) / 2], rtol=1e-6)
    np.testing.assert_allclose(cc.scale[0], 1.5 * max(x2 - x1, y2 - y1) / 200, rtol=1e-6)
    ux1, uy1 = max(x1 - 15, 0), max(y1 - 15, 0)
    ux2, uy2 = min(x2 + 15, 160), min(y2 + 15, 120)
    np.testing.assert_allclose(ud.center, [(ux1 + ux2) / 2, (uy1 + uy2) / 2], rtol=1e-6)
    np.testing.assert_allclose(ud.scale[0], 1.25 * max(ux2 - ux1, uy2 - uy1) / 200, rtol=1e-6)


def test_tigdog_errors_name_the_file(tmp_path, animal_data):
    with pytest.raises(DatasetFormatError, match=r"ranges\.mat: file not found"):
        TigDog(str(tmp_path), "horse")
    root, _ = animal_data
    bad = tmp_path / "bad"
    shutil.copytree(os.path.join(root, "behaviorDiscovery2.0", "ranges"), bad / "behaviorDiscovery2.0" / "ranges")
    (bad / "behaviorDiscovery2.0" / "landmarks" / "horse").mkdir(parents=True)
    first = scipy.io.loadmat(os.path.join(root, "behaviorDiscovery2.0", "ranges", "horse", "ranges.mat"))["ranges"][0, 0]
    scipy.io.savemat(bad / "behaviorDiscovery2.0" / "landmarks" / "horse" / f"{first}.mat", {"other": np.zeros(3)})
    with pytest.raises(DatasetFormatError, match=rf"{first}\.mat: has no variable 'landmarks'"):
        TigDog(str(bad), "horse")
    with pytest.raises(ValueError, match="crop must be one of"):
        TigDog(root, "horse", crop="wide")


# --------------------------------------------------------------------- Animal-Pose
def test_animalpose_round_trip_and_category_filters(animal_data):
    root, written = animal_data
    ds = AnimalPose(os.path.join(root, "animalpose"))
    assert len(ds) == len(written["animalpose"])
    for i, w in enumerate(written["animalpose"]):
        s = ds.annotation(i)
        np.testing.assert_array_equal(s.keypoints, w["keypoints"])
        np.testing.assert_array_equal(s.bbox, np.asarray(w["bbox"], np.float32))
        assert os.path.basename(s.image_path) == w["file_name"]
    counts = {}
    for w in written["animalpose"]:
        counts[w["category_id"]] = counts.get(w["category_id"], 0) + 1
    assert len(AnimalPose(os.path.join(root, "animalpose"), categories=["dog"])) == counts[1]
    assert len(AnimalPose(os.path.join(root, "animalpose"), exclude=["cow", 1])) == len(ds) - counts[5] - counts[1]
    assert len({w["image_id"] for w in written["animalpose"]}) < len(written["animalpose"])  # multi-animal images
    assert ds[0].image.shape == (120, 160, 3)


def test_animalpose_errors_name_the_file(tmp_path):
    p = tmp_path / "keypoints.json"
    with pytest.raises(DatasetFormatError, match="keypoints.json: annotation file not found"):
        AnimalPose(str(tmp_path))
    p.write_text("{not json")
    with pytest.raises(DatasetFormatError, match="keypoints.json: not valid JSON"):
        AnimalPose(str(tmp_path))
    doc = {"images": {"1": "a.jpg"}, "annotations": [
        {"image_id": 1, "bbox": [0, 0, 5, 5], "keypoints": [[0, 0, 0]] * 19, "num_keypoints": 20, "category_id": 1}]}
    p.write_text(json.dumps(doc))
    with pytest.raises(DatasetFormatError, match=r"annotation 0: expected 20 keypoints"):
        AnimalPose(str(tmp_path))
    doc["annotations"][0]["keypoints"] = [[0, 0, 0]] * 20
    doc["annotations"][0]["category_id"] = 9
    p.write_text(json.dumps(doc))
    with pytest.raises(DatasetFormatError, match="unknown category_id 9"):
        AnimalPose(str(tmp_path))
    doc["annotations"][0]["category_id"] = 1
    p.write_text(json.dumps(doc))
    ds = AnimalPose(str(tmp_path))
    with pytest.raises(DatasetFormatError, match=r"a\.jpg: image file is missing"):
        ds[0]


def test_occlusion_visible_config_supervises_occluded_synthetic_joints(animal_data):
    """`train_data.occlusion_visible` (the reference's train_with_occlusion) marks every in-image joint visible."""
    from animalpose.engine.config import load_experiment
    from animalpose.engine.data import build_source
    root, _ = animal_data
    plain = load_experiment("demo_synthetic", [f"train_data.root={root}", "train_data.occlusion_visible=false"]).train_data
    occ = load_experiment("ccssl_synthetic_horse", [f"train_data.root={root}"]).train_data
    assert occ.occlusion_visible and not plain.occlusion_visible
    assert load_experiment("demo_synthetic").train_data.occlusion_visible      # the demo follows the reference
    a, b = build_source(plain), build_source(occ)
    va = np.stack([a.annotation(i).keypoints[:, 2] for i in range(len(a))])
    kb = np.stack([b.annotation(i).keypoints for i in range(len(b))])
    h, w = cv2.imread(a.annotation(0).image_path).shape[:2]
    inside = (kb[..., 0] >= 0) & (kb[..., 0] < w) & (kb[..., 1] >= 0) & (kb[..., 1] < h)
    np.testing.assert_array_equal(kb[..., 2], inside.astype(np.float32))
    assert (va < kb[..., 2]).any()                      # some occluded joints become supervised
    with pytest.raises(ValueError, match="occlusion_visible applies to synthetic_animal data only"):
        load_experiment("demo_real", [f"train_data.root={root}", "train_data.occlusion_visible=true"])
