"""Property test (hypothesis): malformed annotation files of every supported format give either samples
that hold the file's (finite) content or exactly one DatasetFormatError naming the file; never another
exception type.  Mutations: a key deleted, a value replaced by a wrong type, NaN or infinity, a list
shortened or lengthened, the file truncated."""
import copy
import csv
import io
import json
import os
import shutil

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from animalpose.keypoints import JointNameError
from datasets.animal_pose import open_animalpose
from datasets.coco import CocoKeypoints
from datasets.coco_keypoints import CocoKeypointSet
from datasets.dlc import DLCProject
from datasets.errors import DatasetFormatError
from datasets.synthetic_animal import read_keypoints_file
from datasets.tigdog import TigDog

from test_real_formats import _ap10k_file, _write_dlc, _write_mmpose_animalpose, _write_official_animalpose

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
WRONG = [None, "x", -1, 0, 1e12, float("nan"), float("inf"), -float("inf"), [], {}, [1, 2], True, {"a": 1}]


def _paths(doc, pre=()):
    yield pre
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, pre + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, pre + (i,))


def _mutated(doc, path, kind, value):
    doc = copy.deepcopy(doc)
    if not path:
        return value
    parent = doc
    for p in path[:-1]:
        parent = parent[p]
    last = path[-1]
    if kind == "delete":
        del parent[last]
    elif kind == "replace":
        parent[last] = value
    elif kind == "shorten" and isinstance(parent[last], list) and parent[last]:
        parent[last] = parent[last][:-1]
    elif kind == "lengthen" and isinstance(parent[last], list):
        parent[last] = parent[last] + [1.0]
    else:
        parent[last] = value
    return doc


def _check(load, path):
    """Load; the samples must be finite, or the one error must be a format error naming ``path``."""
    try:
        ds = load()
        samples = [ds.annotation(i) for i in range(len(ds))]
    except (DatasetFormatError, JointNameError) as e:
        assert path in str(e) or os.path.dirname(path) in str(e), str(e)
        return None
    for s in samples:
        assert np.isfinite(s.keypoints).all() and np.isfinite(s.bbox).all(), s
        assert s.bbox[2] >= s.bbox[0] and s.bbox[3] >= s.bbox[1]
    return samples


MUTATION = st.tuples(st.integers(0, 10 ** 6), st.sampled_from(["delete", "replace", "shorten", "lengthen"]),
                     st.sampled_from(WRONG), st.one_of(st.none(), st.floats(0.0, 1.0)))


def _json_case(tmp_path, make, load, mutation):
    folder = tmp_path / "case"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    path = make(folder)
    doc = json.load(open(path))
    paths = list(_paths(doc))
    index, kind, value, cut = mutation
    text = json.dumps(_mutated(doc, paths[index % len(paths)], kind, value))
    if cut is not None:
        text = text[:int(cut * len(text))]
    with open(path, "w") as f:
        f.write(text)
    return _check(lambda: load(folder, path), path)


@SETTINGS
@given(mutation=MUTATION)
def test_official_animalpose(tmp_path, mutation):
    _json_case(tmp_path, lambda d: _write_official_animalpose(str(d)), lambda d, p: open_animalpose(p), mutation)


@SETTINGS
@given(mutation=MUTATION)
def test_mmpose_animalpose(tmp_path, mutation):
    _json_case(tmp_path, lambda d: _write_mmpose_animalpose(str(d)), lambda d, p: open_animalpose(str(d), "val"),
               mutation)


@SETTINGS
@given(mutation=MUTATION)
def test_ap10k_coco_style(tmp_path, mutation):
    _json_case(tmp_path, lambda d: _ap10k_file(d)[0], lambda d, p: CocoKeypointSet(p, str(d / "data")), mutation)


def _coco_person(folder):
    from datasets.render.coco_writer import render_coco_split
    render_coco_split(folder / "coco", "val2017", num_images=2, seed=4, image_size=(96, 72), multi_person_fraction=0.5)
    return str(folder / "coco" / "annotations" / "person_keypoints_val2017.json")


@SETTINGS
@given(mutation=MUTATION)
def test_coco_person(tmp_path, mutation):
    _json_case(tmp_path, _coco_person,
               lambda d, p: CocoKeypoints(p, str(d / "coco" / "val2017")), mutation)


@SETTINGS
@given(cell=st.integers(0, 10 ** 6), value=st.sampled_from(["abc", "inf", "-inf", "nan", "", "1e400", "--"]),
       drop_row=st.booleans(), cut=st.one_of(st.none(), st.floats(0.0, 1.0)))
def test_dlc_csv(tmp_path, cell, value, drop_row, cut):
    project = tmp_path / "proj"
    shutil.rmtree(project, ignore_errors=True)
    _write_dlc(str(project))
    path = str(project / "labeled-data" / "m4s1" / "CollectedData_Jane.csv")
    rows = list(csv.reader(open(path, newline="")))
    r = cell % len(rows)
    c = (cell // len(rows)) % len(rows[r])
    if drop_row:
        del rows[r][c:]
    else:
        rows[r][c] = value
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    text = buf.getvalue()
    if cut is not None:
        text = text[:int(cut * len(text))]
    with open(path, "w", newline="") as f:
        f.write(text)
    _check(lambda: DLCProject(str(project)), path)


@SETTINGS
@given(key=st.sampled_from(["bodyparts", "TrainingFraction", "multianimalproject", "scorer"]),
       value=st.sampled_from(WRONG + ["[unclosed"]))
def test_dlc_config(tmp_path, key, value):
    import yaml
    project = tmp_path / "proj"
    shutil.rmtree(project, ignore_errors=True)
    _write_dlc(str(project))
    path = str(project / "config.yaml")
    cfg = yaml.safe_load(open(path))
    cfg[key] = value
    text = yaml.safe_dump(cfg) if value != "[unclosed" else open(path).read() + f"{key}: [unclosed\n"
    with open(path, "w") as f:
        f.write(text)
    _check(lambda: DLCProject(str(project)), os.path.dirname(path))


@SETTINGS
@given(cut=st.integers(0, 200), dtype=st.sampled_from(["int64", "float64", "float32", "U3", "bool"]),
       value=st.sampled_from([None, -1, 0.5, float("nan")]))
def test_tigdog_split_file(animal_data, tmp_path, cut, dtype, value):
    root, _ = animal_data
    split = tmp_path / "split"
    shutil.rmtree(split, ignore_errors=True)
    shutil.copytree(os.path.join(root, "real_animal", "horse"), split)
    path = str(split / "valid_idxs_by_video.npy")
    idx = np.load(path)
    if value is not None and idx.size:
        idx = idx.astype(np.float64)
        idx[0] = value
    if dtype != "bool":
        try:
            idx = idx.astype(dtype)
        except ValueError:
            pass
    np.save(path, idx)
    data = open(path, "rb").read()
    if cut < len(data) and cut % 3 == 0:
        with open(path, "wb") as f:
            f.write(data[:cut])                                    # truncated
    samples = _check(lambda: TigDog(root, "horse", "test", split_dir=str(split)), path)
    if samples is not None:                                         # read: exactly the frames the file lists
        assert len(samples) <= len(np.load(path).ravel())


@SETTINGS
@given(shape=st.sampled_from([(18, 3), (18, 2), (17, 3), (3,), (18, 3, 1)]),
       value=st.sampled_from([None, float("nan"), float("inf")]), cut=st.one_of(st.none(), st.integers(0, 300)),
       dtype=st.sampled_from(["float32", "U4", "object"]))
def test_synthetic_keypoint_file(tmp_path, shape, value, cut, dtype):
    path = str(tmp_path / "00000_horse_x_kpts.npy")
    arr = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    if value is not None:
        arr.reshape(-1)[0] = value
    np.save(path, arr.astype(dtype), allow_pickle=True)
    if cut is not None:
        data = open(path, "rb").read()
        open(path, "wb").write(data[:cut])
    try:
        joints, _ = read_keypoints_file(path, "horse")
    except DatasetFormatError as e:
        assert path in str(e)
        return
    assert joints.shape == (18, 3) and np.isfinite(joints).all()
    np.testing.assert_array_equal(joints, np.arange(54, dtype=np.float32).reshape(18, 3))


def test_truncated_split_file_names_itself(animal_data, tmp_path):
    root, _ = animal_data
    split = tmp_path / "split"
    shutil.copytree(os.path.join(root, "real_animal", "horse"), split)
    path = split / "train_idxs_by_video.npy"
    path.write_bytes(path.read_bytes()[:90])
    with pytest.raises(DatasetFormatError, match=f"^{path}: not a readable .npy TigDog split file"):
        TigDog(root, "horse", "train", split_dir=str(split))


def test_nan_keypoint_in_a_coco_file_is_refused_naming_the_annotation(tmp_path):
    path, _ = _ap10k_file(tmp_path)
    doc = json.load(open(path))
    doc["annotations"][1]["keypoints"][4] = float("nan")
    json.dump(doc, open(path, "w"))
    with pytest.raises(DatasetFormatError, match=r"ap10k-val-split1.json: annotation 2: keypoints hold NaN"):
        CocoKeypointSet(path, str(tmp_path / "data"))
    person = _coco_person(tmp_path)
    doc = json.load(open(person))
    doc["annotations"][0]["bbox"][2] = float("inf")
    json.dump(doc, open(person, "w"))
    with pytest.raises(DatasetFormatError, match=r"person_keypoints_val2017.json: annotation .*(NaN|finite)"):
        CocoKeypoints(person, str(tmp_path / "coco" / "val2017"))


def test_animalpose_image_without_id_names_the_file(tmp_path):
    path = _write_mmpose_animalpose(str(tmp_path))
    doc = json.load(open(path))
    del doc["images"][0]["id"]
    json.dump(doc, open(path, "w"))
    with pytest.raises(DatasetFormatError, match=r"animalpose_val.json: image entry None lacks id$"):
        open_animalpose(str(tmp_path), "val")
