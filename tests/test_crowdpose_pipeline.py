"""CrowdPose as a training / evaluation dataset: ``dataset: crowdpose`` through build_source, bottom-up
(DEKR) training and the evaluate command, the CrowdPose protocol behind the keypoint-AP dispatch, errors."""
import json
import os

import cv2
import numpy as np
import pytest
import torch

from animalpose.cli import main
from animalpose.codecs.dekr import DEKRCodec
from animalpose.engine.bottomup import BottomUpDataset, evaluate_bottomup
from animalpose.engine.config import AugmentConfig, BottomUpConfig, DataConfig, load_experiment
from animalpose.engine.data import TopDownDataset, build_normalize, build_source
from animalpose.engine.evaluator import COCO_BENCHMARK, CROWDPOSE_BENCHMARK, evaluate, keypoint_benchmark
from animalpose.keypoints import get_spec
from datasets.crowdpose import CrowdPoseKeypoints
from evaluation import CROWDPOSE_STATS, STATS_NAMES
from dekr_helpers import Replay, exact_dekr_outputs

CPU = torch.device("cpu")
# the small DEKR of test_bottomup / the demo preset, at 64 px: a few seconds on a CPU
TINY_DEKR = ["--set", "codec.input_size=[64, 64]", "--set", "codec.heatmap_size=[16, 16]",
             "--set", "model.options={width: 8, stem_channels: 16, offset_channels_per_joint: 4}"]


@pytest.fixture(scope="module")
def cp_root(tmp_path_factory):
    """``animalpose generate --preset tiny --only crowdpose``: 8 train and 4 val images in ROOT/crowdpose."""
    root = str(tmp_path_factory.mktemp("cp_data"))
    assert main(["generate", "--preset", "tiny", "--out", root, "--only", "crowdpose", "--quiet"]) == 0
    return root


def _data(root, split, **kw):
    return DataConfig(dataset="crowdpose", root=root, split=split, **kw)


def _crowdpose_overrides(root):
    out = ["--set", "spec=crowdpose14"]
    for key, split in (("train_data", "train"), ("val_data", "val")):
        out += ["--set", f"{key}.dataset=crowdpose", "--set", f"{key}.root={root}", "--set", f"{key}.split={split}"]
    return out


@pytest.fixture(scope="module")
def trained(cp_root, tmp_path_factory):
    """One epoch of bottom-up `animalpose pretrain` on the rendered CrowdPose people, validated every epoch."""
    out = str(tmp_path_factory.mktemp("cp_run"))
    rc = main(["pretrain", "--config", "demo_human_dekr", *_crowdpose_overrides(cp_root), *TINY_DEKR,
               "--set", "train.epochs=1", "--set", "train.batch_size=3", "--set", "train.val_every=1",
               "--out", out, "--workers", "0", "--device", "cpu", "--quiet"])
    assert rc == 0
    return out


def test_build_source_reads_the_generated_root(cp_root, tmp_path):
    src = build_source(_data(cp_root, "val"))                  # ROOT/crowdpose found as for ROOT/coco
    assert isinstance(src, CrowdPoseKeypoints) and src.spec == "crowdpose14"
    assert src.ann_file == os.path.join(cp_root, "crowdpose", "json", "crowdpose_val.json")
    assert src.annotation(0).keypoints.shape == (14, 3)
    assert build_source(_data(os.path.join(cp_root, "crowdpose"), "train")).image_ids[0] == 100000
    # the dispatch: CrowdPose data (behind a limit too) -> the CrowdPose protocol, COCO-format data -> COCO's
    limited = build_source(_data(cp_root, "val", limit=2))
    assert keypoint_benchmark(src) is keypoint_benchmark(limited) is CROWDPOSE_BENCHMARK
    assert CROWDPOSE_BENCHMARK.stat_names == CROWDPOSE_STATS and COCO_BENCHMARK.stat_names == STATS_NAMES
    assert keypoint_benchmark(object()) is COCO_BENCHMARK                    # e.g. COCO, WS-CDA's Animal-Pose view
    # top-down: GT boxes by default, a detection file as for COCO
    dets = str(tmp_path / "dets.json")
    with open(dets, "w") as f:
        json.dump([{"image_id": src.image_ids[0], "category_id": 1, "bbox": [10, 10, 50, 100], "score": 0.9},
                   {"image_id": src.image_ids[1], "category_id": 1, "bbox": [20, 5, 40, 90], "score": 0.1}], f)
    det = build_source(_data(cp_root, "val", det_file=dets, det_score_threshold=0.5))
    assert len(det) == 1 and det.annotation(0).extra["score"] == pytest.approx(0.9)


def test_pretrain_and_evaluate_report_the_crowdpose_stats(trained, tmp_path, capsys):
    assert all(os.path.isfile(os.path.join(trained, f)) for f in ("best.pt", "last.pt", "history.json"))
    cfg = load_experiment(os.path.join(trained, "config.yaml"))
    assert cfg.train_data.dataset == cfg.val_data.dataset == "crowdpose" and cfg.spec == "crowdpose14"
    with open(os.path.join(trained, "history.json")) as f:
        assert "coco" in json.load(f)[0]                        # validated once (CrowdPose AP)
    capsys.readouterr()
    ev = str(tmp_path / "eval")
    assert main(["evaluate", "--checkpoint", os.path.join(trained, "best.pt"), "--out", ev, "--device", "cpu",
                 "--quiet"]) == 0
    with open(os.path.join(ev, "coco_stats.json")) as f:
        stats = json.load(f)["demo_human_dekr"]
    assert list(stats) == list(CROWDPOSE_STATS)                  # AP .. AR .75, AP (E) / (M) / (H); no AP (L)
    out = capsys.readouterr().out
    assert "| method | " + " | ".join(CROWDPOSE_STATS) + " |" in out and "AP (L)" not in out
    with open(os.path.join(ev, "keypoint_results.json")) as f:
        assert all(len(r["keypoints"]) == 42 for r in json.load(f))


def test_exact_dekr_outputs_score_one_through_evaluate_bottomup(cp_root):
    """The perfect network output (DEKR targets of the GT at the test resize) through the real decoding,
    the dispatch and evaluate_crowdpose: AP / AR 1, every populated crowd level 1."""
    src = build_source(_data(cp_root, "val"))
    codec = DEKRCodec(input_size=(256, 256), heatmap_size=(64, 64))
    outs = exact_dekr_outputs(src, 256)
    assert outs[0][0].shape[1] == 15 and outs[0][1].shape[1] == 28           # 14 joints + centre, 2 x 14
    norm = build_normalize(load_experiment("demo_human_dekr").normalize)
    res = evaluate_bottomup(Replay(outs, stride=4), src, codec, norm, "crowdpose14", CPU)
    st = res["stats"]
    assert list(st) == list(CROWDPOSE_STATS)
    assert st["AP"] == pytest.approx(1.0) and st["AR"] == pytest.approx(1.0)
    levels = [st[k] for k in ("AP (E)", "AP (M)", "AP (H)") if st[k] != -1.0]
    assert levels and all(v == pytest.approx(1.0) for v in levels)
    assert all(len(r["keypoints"]) == 42 for r in res["results"])
    # a coco17 model cannot be scored on CrowdPose data: one line, before any inference
    with pytest.raises(ValueError, match="^CrowdPose data is scored in spec crowdpose14; the model predicts coco17$"):
        evaluate_bottomup(Replay([]), src, codec, norm, "coco17", CPU)


class _ExactCodec:
    """A top-down 'codec' whose target is the input-pixel keypoints themselves, and whose decoding
    reads them back: a model replaying the targets predicts the ground truth exactly."""

    def __init__(self, size=(96, 128)):
        self.input_size = self.heatmap_size = size

    def encode(self, keypoints):
        kp = np.asarray(keypoints, np.float32)
        return {"heatmaps": kp.copy(), "weights": (kp[..., 2] > 0).astype(np.float32)}

    def decode(self, heatmaps):
        hm = np.asarray(heatmaps, np.float64)
        return hm[..., :2], (hm[..., 2] > 0).astype(np.float32)


def test_top_down_coco_protocol_on_crowdpose_gt_scores_one(cp_root):
    """Top-down ``--protocol coco`` (crops from GT boxes, back-projection, rescoring, OKS-NMS) on a
    CrowdPose source goes to the CrowdPose protocol; exact predictions give AP 1."""
    src = build_source(_data(cp_root, "val"), aspect_ratio=0.75)
    codec, norm = _ExactCodec(), build_normalize(load_experiment("demo_human_topdown").normalize)
    ds = TopDownDataset(src, "crowdpose14", codec, AugmentConfig(recipe="none"), norm)
    targets = [ds[i]["target"] for i in range(len(ds))]
    batches = [torch.stack(targets[i:i + 2]) for i in range(0, len(targets), 2)]
    res = evaluate(Replay(batches), src, "coco", codec, norm, "crowdpose14", CPU, batch_size=2)
    assert list(res["stats"]) == list(CROWDPOSE_STATS)
    assert res["AP"] == pytest.approx(1.0) and res["stats"]["AR"] == pytest.approx(1.0)
    assert len(res["results"]) == len(src)


def test_one_line_errors(cp_root, trained, tmp_path, capsys):
    empty = tmp_path / "no_json"
    (empty / "images").mkdir(parents=True)
    capsys.readouterr()
    rc = main(["pretrain", "--config", "demo_human_dekr", *_crowdpose_overrides(str(empty)), *TINY_DEKR,
               "--out", str(tmp_path / "x"), "--device", "cpu", "--quiet"])
    assert rc == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("animalpose pretrain: error: crowdpose split 'train': ")
    assert str(empty / "json" / "crowdpose_train.json") + " not found" in line
    # the rendered root has train / val only: evaluating the checkpoint on `test` names the missing file
    assert main(["evaluate", "--checkpoint", os.path.join(trained, "best.pt"), "--split", "test",
                 "--out", str(tmp_path / "ev"), "--device", "cpu", "--quiet"]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert os.path.join(cp_root, "crowdpose", "json", "crowdpose_test.json") in line
    # a COCO-spec DEKR on CrowdPose data
    rc = main(["pretrain", "--config", "demo_human_dekr", *_crowdpose_overrides(cp_root), "--set", "spec=coco17",
               *TINY_DEKR, "--out", str(tmp_path / "y"), "--device", "cpu", "--quiet"])
    assert rc == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.endswith("bottom-up: spec coco17 does not match the CrowdPose data (crowdpose14)")


def test_bottom_up_masks_only_the_padding_on_crowdpose(tmp_path):
    """DEKR's CrowdPose loader masks nothing; the COCO rule would mask the unlabelled person's box."""
    (tmp_path / "json").mkdir()
    (tmp_path / "images").mkdir()
    cv2.imwrite(str(tmp_path / "images" / "7.jpg"), np.zeros((200, 300, 3), np.uint8))
    kp = np.zeros((14, 3))
    kp[:, 0], kp[:, 1], kp[:, 2] = np.linspace(30, 80, 14), np.linspace(20, 160, 14), 2
    anns = [{"id": 1, "image_id": 7, "category_id": 1, "iscrowd": 0, "num_keypoints": 12, "bbox": [30, 20, 50, 140],
             "keypoints": kp.reshape(-1).tolist()},
            {"id": 2, "image_id": 7, "category_id": 1, "iscrowd": 0, "num_keypoints": 0, "bbox": [200, 20, 15, 30],
             "keypoints": [0] * 42}]                                              # unlabelled, as in the release
    data = {"images": [{"id": 7, "file_name": "7.jpg", "height": 200, "width": 300, "crowdIndex": 0.0}],
            "annotations": anns,
            "categories": [{"id": 1, "name": "person", "keypoints": list(get_spec("crowdpose14").joints)}]}
    (tmp_path / "json" / "crowdpose_train.json").write_text(json.dumps(data))
    src = build_source(_data(str(tmp_path), "train"))
    codec = DEKRCodec(input_size=(64, 64), heatmap_size=(16, 16))
    norm = build_normalize(load_experiment("demo_human_dekr").normalize)
    ds = BottomUpDataset(src, "crowdpose14", codec, BottomUpConfig(min_center_area=0), norm, augment=False)
    assert not ds.mask_people and ds.ignore_mask(7, 200, 300).min() == 1.0
    item = ds[0]
    assert item["heatmaps"].shape == (15, 16, 16) and item["offsets"].shape == (28, 16, 16)
    assert item["heatmaps"][14].max() > 0.99                                      # the labelled person's centre
    ds.mask_people = True                                                         # the COCO rule, for contrast
    m = ds.ignore_mask(7, 200, 300)
    assert m[20:50, 200:215].max() == 0 and m.sum() == 300 * 200 - 15 * 30
