"""PCK reports: files exist, parse, and carry the input numbers."""
import csv
import json

import numpy as np
import pytest

from animalpose.keypoints import get_spec
from evaluation.pck_ccssl import ccssl_pck
from evaluation.report import format_table, method_scores, report_groups, write_report

SPEC = get_spec("tigdog18")


def methods():
    rng = np.random.default_rng(3)
    a = rng.uniform(0.2, 0.9, 18)
    a[2] = np.nan                                   # chin never valid
    counts = rng.integers(1, 5, 18)
    counts[2] = 0
    ccssl_like = {"per_joint": a, "counts": counts, "mean": 0.6123,
                  "curve": {"alphas": [0.0, 0.05, 0.1], "pck": [0.0, 0.55, 0.8]}, "auc": 0.4}
    by_name = {"per_joint": {j: 0.5 + 0.01 * i for i, j in enumerate(SPEC.joints)}}
    return {"CC-SSL": ccssl_like, "Syn": by_name}


def test_scores_groups_and_means():
    ms = methods()
    sc = method_scores(ms["CC-SSL"], SPEC)
    a, c = ms["CC-SSL"]["per_joint"], ms["CC-SSL"]["counts"]
    knee = list(SPEC.groups["knee"])
    assert sc["groups"]["knee"] == pytest.approx((a[knee] * c[knee]).sum() / c[knee].sum())
    assert np.isnan(sc["groups"]["chin"]) and sc["mean"] == 0.6123
    syn = method_scores(ms["Syn"], SPEC)
    # no counts: plain means
    assert syn["groups"]["hoof"] == pytest.approx(np.mean([0.5 + 0.01 * i for i in (3, 4, 5, 6)]))
    assert syn["mean"] == pytest.approx(np.mean([0.5 + 0.01 * i for i in range(18)]))
    assert report_groups(SPEC) == ["eye", "chin", "shoulder", "hip", "elbow", "knee", "hoof"]
    assert report_groups("tigdog14") == ["eye", "elbow", "knee", "hoof"]


def test_write_report_round_trip(tmp_path):
    ms = methods()
    paths = write_report(str(tmp_path / "rep"), ms, SPEC)
    assert set(paths) == {"md", "csv", "json", "png", "curve_png"}
    assert paths["md"].endswith("pck.md")

    data = json.loads(open(paths["json"]).read())
    assert data["unit"] == "percent" and data["spec"] == "tigdog18"
    assert list(data["methods"]) == ["CC-SSL", "Syn"]
    for name, res in ms.items():
        sc = method_scores(res, SPEC)
        got = data["methods"][name]
        assert got["mean"] == pytest.approx(100 * sc["mean"])
        for j, v in sc["per_joint"].items():
            assert (got["per_joint"][j] is None) if np.isnan(v) else got["per_joint"][j] == pytest.approx(100 * v)
        for g, v in sc["groups"].items():
            assert (got["groups"][g] is None) if np.isnan(v) else got["groups"][g] == pytest.approx(100 * v)
    assert data["methods"]["CC-SSL"]["curve"]["pck"] == pytest.approx([0.0, 55.0, 80.0])

    with open(paths["csv"], newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["method"] for r in rows] == ["CC-SSL", "Syn"]
    for r, name in zip(rows, ms):
        got = data["methods"][name]
        assert float(r["mean"]) == pytest.approx(got["mean"], abs=1e-6)
        for j in SPEC.joints:
            want = got["per_joint"][j]
            assert (r[f"joint:{j}"] == "") if want is None else float(r[f"joint:{j}"]) == pytest.approx(want, abs=1e-6)
        assert float(r["group:elbow"]) == pytest.approx(got["groups"]["elbow"], abs=1e-6)

    md = open(paths["md"]).read()
    assert "| Method | Eye | Chin | Shoulder | Hip | Elbow | Knee | Hooves | Mean |" in md
    assert "| CC-SSL |" in md and "| l_eye |" in md and "61.23" in md

    import matplotlib.image as mpimg
    for key in ("png", "curve_png"):
        img = mpimg.imread(paths[key])
        assert img.ndim == 3 and img.shape[0] > 0 and img.shape[1] > 0


def test_format_table_and_ccssl_result(tmp_path):
    # a real CC-SSL result (array per joint + counts + groups + curve) goes straight into a report
    rng = np.random.default_rng(0)
    target = np.zeros((12, 18, 16, 16), np.float32)
    ys, xs = rng.integers(2, 16, (12, 18)), rng.integers(2, 16, (12, 18))
    target[np.arange(12)[:, None], np.arange(18)[None], ys, xs] = 1
    res = ccssl_pck(target, target, batch_size=6, spec="tigdog18")
    text = format_table({"oracle": res, **methods()}, "tigdog18", per_joint=True)
    lines = text.splitlines()
    assert lines[0].split() == ["Method", "Eye", "Chin", "Shoulder", "Hip", "Elbow", "Knee", "Hooves", "Mean"]
    assert lines[2].split()[1:] == ["100.00"] * 8
    assert "r_back_elbow" in text and lines[3].split()[2] == "-"     # NaN chin shown as "-"
    paths = write_report(str(tmp_path), {"oracle": res}, "tigdog18", stem="horse")
    assert json.load(open(paths["json"]))["methods"]["oracle"]["groups"]["hoof"] == pytest.approx(100.0)


def test_spec_without_groups_and_errors(tmp_path):
    res = {"per_joint": np.array([0.5, 1.0]), "joints": ["a", "b"]}
    paths = write_report(str(tmp_path), res)           # a single result is named "model"
    data = json.load(open(paths["json"]))
    assert data["methods"]["model"] == {"mean": 75.0, "per_joint": {"a": 50.0, "b": 100.0}, "groups": {}}
    assert "curve_png" not in paths
    with pytest.raises(ValueError, match="18 joints"):
        method_scores({"per_joint": np.zeros(5)}, SPEC)
    with pytest.raises(ValueError, match="non-empty"):
        write_report(str(tmp_path), {}, SPEC)
