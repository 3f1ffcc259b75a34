"""pretrain / evaluate / predict from the command line: files written, clear errors."""
import json
import os

import cv2
import numpy as np
import pytest

from animalpose.cli import main

SMALL = ["--set", "model.options={stacks: 1, blocks: 1, features: 16}", "--set", "codec.input_size=[64, 64]",
         "--set", "codec.heatmap_size=[16, 16]", "--set", "train.batch_size=4", "--set", "train_data.limit=8",
         "--set", "val_data.limit=8", "--set", "train.epochs=1"]


@pytest.fixture(scope="module")
def trained(animal_data, tmp_path_factory):
    root, _ = animal_data
    out = str(tmp_path_factory.mktemp("pretrain"))
    rc = main(["pretrain", "--config", "demo_synthetic", "--set", f"train_data.root={root}",
               "--set", f"val_data.root={root}", *SMALL, "--out", out, "--workers", "0", "--quiet",
               "--device", "cpu", "--seed", "3"])
    assert rc == 0
    return root, out


def test_pretrain_writes_run_folder(trained):
    _, out = trained
    for f in ("config.yaml", "best.pt", "last.pt", "history.json"):
        assert os.path.isfile(os.path.join(out, f)), f
    text = open(os.path.join(out, "config.yaml")).read()
    assert "seed: 3" in text and "features: 16" in text


@pytest.mark.parametrize("protocol", ["ccssl", "uda", "pck-bbox"])
def test_evaluate_writes_reports(trained, tmp_path, protocol, capsys):
    root, out = trained
    args = ["evaluate", "--checkpoint", os.path.join(out, "best.pt"), "--out", str(tmp_path), "--quiet",
            "--protocol", protocol, "--name", "m"]
    if protocol == "uda":
        args += ["--crop", "uda", "--flip"]
    assert main(args) == 0
    for ext in ("md", "csv", "json", "png"):
        assert (tmp_path / f"pck.{ext}").stat().st_size > 0
    doc = json.loads((tmp_path / "pck.json").read_text())
    assert len(doc["methods"]["m"]["per_joint"]) == 18
    assert "l_front_hoof" in capsys.readouterr().out


def test_predict_images_and_video(trained, tmp_path):
    root, out = trained
    img = os.path.join(root, "behaviorDiscovery2.0", "horse", "00000001.jpg")
    frames = [cv2.imread(os.path.join(root, "behaviorDiscovery2.0", "horse", f"{i:08d}.jpg")) for i in (1, 2, 3)]
    video = str(tmp_path / "clip.mp4")
    h, w = frames[0].shape[:2]
    vw = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*"mp4v"), 5, (w, h))
    for f in frames:
        vw.write(f)
    vw.release()
    pred = tmp_path / "pred"
    assert main(["predict", "--checkpoint", os.path.join(out, "best.pt"), img, video, "--out", str(pred),
                 "--quiet", "--bbox", "10", "10", str(w - 10), str(h - 10)]) == 0
    doc = json.loads((pred / "keypoints.json").read_text())
    assert len(doc["joints"]) == 18
    assert [p["frame"] for p in doc["predictions"]] == [None, 0, 1, 2]
    kp = np.array(doc["predictions"][0]["keypoints"])
    assert kp.shape == (18, 3) and np.isfinite(kp).all()
    # predictions come back in image pixels: inside (a margin around) the box
    assert (kp[:, 0] > -w).all() and (kp[:, 0] < 2 * w).all()
    assert (pred / "00000001_pose.png").stat().st_size > 0
    cap = cv2.VideoCapture(str(pred / "clip_pose.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 3


def _err(capsys):
    return capsys.readouterr().err.strip().splitlines()


def test_clear_errors(trained, tmp_path, capsys):
    root, out = trained
    assert main(["pretrain", "--config", "no_such_config", "--quiet"]) == 1
    (line,) = _err(capsys)
    assert line.startswith("animalpose pretrain: error: unknown config 'no_such_config'")
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed\n")
    assert main(["pretrain", "--config", str(bad), "--quiet"]) == 1
    (line,) = _err(capsys)
    assert "bad.yaml" in line and "not valid YAML" in line
    assert main(["pretrain", "--config", "demo_synthetic", "--set", "train_data.root=/no/such/dir", "--quiet",
                 "--out", str(tmp_path / "x")]) == 1
    (line,) = _err(capsys)
    assert "data root '/no/such/dir' not found" in line
    assert main(["evaluate", "--checkpoint", str(tmp_path / "missing.pt"), "--quiet"]) == 1
    (line,) = _err(capsys)
    assert "checkpoint not found" in line and "missing.pt" in line
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a checkpoint at all")
    assert main(["evaluate", "--checkpoint", str(broken), "--quiet"]) == 1
    (line,) = _err(capsys)
    assert "broken.pt" in line and "not a readable torch file" in line
    assert main(["predict", "--checkpoint", os.path.join(out, "best.pt"), str(tmp_path / "nope.png"),
                 "--quiet"]) == 1
    (line,) = _err(capsys)
    assert "nope.png: input not found" in line
    assert main(["pretrain", "--config", "demo_synthetic", "--workers", "-1", "--quiet"]) == 1
    assert "--workers must be >= 0" in _err(capsys)[0]
    if not __import__("torch").cuda.is_available():
        assert main(["pretrain", "--config", "demo_synthetic", "--device", "cuda", "--quiet",
                     "--set", f"train_data.root={root}", "--out", str(tmp_path / "y")]) == 1
        assert "CUDA is not available" in _err(capsys)[0]


def test_evaluate_compares_several_checkpoints_in_one_report(trained, tmp_path):
    root, out = trained
    ck = os.path.join(out, "best.pt")
    assert main(["evaluate", "--checkpoint", ck, "--checkpoint", os.path.join(out, "last.pt"), "--name", "a",
                 "--name", "b", "--out", str(tmp_path), "--quiet"]) == 0
    doc = json.loads((tmp_path / "pck.json").read_text())
    assert list(doc["methods"]) == ["a", "b"]
    # best.pt and last.pt of a one-epoch run hold the same weights: identical rows
    assert doc["methods"]["a"]["per_joint"] == doc["methods"]["b"]["per_joint"]
    csv_rows = (tmp_path / "pck.csv").read_text().strip().splitlines()
    assert len(csv_rows) == 3 and csv_rows[1].startswith("a,") and csv_rows[2].startswith("b,")
    assert main(["evaluate", "--checkpoint", ck, "--checkpoint", ck, "--name", "only_one", "--quiet"]) == 1


def test_predict_refuses_degenerate_geometry_in_one_line(trained, tmp_path, capsys):
    root, out = trained
    ckpt = os.path.join(out, "best.pt")
    img = os.path.join(root, "behaviorDiscovery2.0", "horse", "00000001.jpg")
    tiny = str(tmp_path / "one_pixel.png")
    cv2.imwrite(tiny, np.full((1, 1, 3), 128, np.uint8))
    cases = [([tiny], "one_pixel.png: the image is 1x1 pixels, too small to predict on"),
             ([img, "--bbox", "10", "10", "10", "40"], "--bbox must have X2 > X1 and Y2 > Y1"),
             ([img, "--bbox", "50", "10", "20", "40"], "--bbox must have X2 > X1 and Y2 > Y1"),
             ([img, "--bbox", "nan", "10", "20", "40"], "--bbox must be four finite numbers"),
             ([img, "--bbox", "5000", "5000", "6000", "6000"], "lies outside the 160x120 image"),
             ([img, "--max-frames", "0"], "--max-frames must be >= 1")]
    for extra, message in cases:
        assert main(["predict", "--checkpoint", ckpt, *extra, "--out", str(tmp_path / "p"), "--quiet"]) == 1
        (line,) = _err(capsys)
        assert message in line, (extra, line)


def test_predict_keeps_same_named_inputs_apart_and_states_the_score(trained, tmp_path):
    root, out = trained
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    first = cv2.imread(os.path.join(root, "behaviorDiscovery2.0", "horse", "00000001.jpg"))
    cv2.imwrite(str(a / "frame.png"), first)
    cv2.imwrite(str(b / "frame.png"), first[:, ::-1].copy())
    pred = tmp_path / "pred"
    assert main(["predict", "--checkpoint", os.path.join(out, "best.pt"), str(a / "frame.png"), str(b / "frame.png"),
                 "--out", str(pred), "--quiet"]) == 0
    doc = json.loads((pred / "keypoints.json").read_text())
    assert doc["overlays"] == {str(a / "frame.png"): str(pred / "frame_pose.png"),
                               str(b / "frame.png"): str(pred / "frame_2_pose.png")}
    assert (pred / "frame_pose.png").is_file() and (pred / "frame_2_pose.png").is_file()
    assert "not a probability" in doc["score"] and doc["model"] == "topdown"
    for p in doc["predictions"]:
        for x, y, s in p["keypoints"]:
            assert round(x, 2) == x and round(y, 2) == y and round(s, 4) == s
