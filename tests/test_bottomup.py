"""Bottom-up (DEKR) pipeline: training samples, COCO evaluation, official layouts, training, CLI."""
import json
import os

import numpy as np
import pytest
import torch
import yaml

from animalpose.cli import main
from animalpose.codecs.dekr import DEKRCodec
from animalpose.engine.bottomup import (BottomUpDataset, evaluate_bottomup, multi_scale_size, predict_image,
                                        up_interpolate)
from animalpose.engine.config import BottomUpConfig, CONFIG_DIR, load_experiment
from animalpose.engine.data import build_normalize
from animalpose.engine.runner import make_trainer
from animalpose.keypoints import get_spec
from animalpose.models import build_model
from animalpose.transforms import affine_points, get_affine_transform
from datasets.coco import CocoKeypoints
from dekr_helpers import Replay, exact_dekr_outputs

SPEC = get_spec("coco17")


@pytest.fixture(scope="module")
def coco_root(tmp_path_factory):
    from datasets.render.coco_writer import render_coco_split
    root = tmp_path_factory.mktemp("coco_bu")
    for split, seed in (("train2017", 1), ("val2017", 2)):
        render_coco_split(root / "coco", split, num_images=6, seed=seed, image_size=(192, 144),
                          multi_person_fraction=0.7)
    return str(root)


def _val(root):
    return CocoKeypoints.from_root(os.path.join(root, "coco"), "val2017")


def test_multi_scale_size_and_up_interpolate():
    size, center, scale = multi_scale_size(144, 192, 256, 1.0)
    assert size == (384, 256) and center.tolist() == [96, 72]
    np.testing.assert_allclose(scale * 200, [384 / 256 * 144, 144])           # uniform resize, padded to /64
    assert multi_scale_size(144, 192, 256, 2.0)[0] == (768, 512)
    assert multi_scale_size(300, 200, 512, 1.0)[0] == (512, 768)
    x = torch.arange(12.0).view(1, 1, 3, 4)
    up = up_interpolate(x, (12, 16))
    assert up.shape == (1, 1, 12, 16)
    assert torch.allclose(up[0, 0, ::4, ::4], x[0, 0])                        # map pixel i lands on 4 i
    assert torch.allclose(up[0, 0, -1], up[0, 0, -4])                         # edge replication


def test_dataset_items_match_the_codec(coco_root):
    src = CocoKeypoints.from_root(os.path.join(coco_root, "coco"), "train2017")
    codec = DEKRCodec(input_size=(128, 128), heatmap_size=(32, 32))
    norm = build_normalize(load_experiment("demo_human_dekr").normalize)
    ds = BottomUpDataset(src, "coco17", codec, BottomUpConfig(), norm, seed=0)
    assert len(ds) == 6
    it = ds[1]
    assert it["image"].shape == (3, 128, 128)
    assert it["heatmaps"].shape == it["mask"].shape == (18, 32, 32)
    assert it["offsets"].shape == it["offset_weights"].shape == (34, 32, 32)
    assert set(np.unique(it["mask"].numpy())) <= {0.0, np.float32(0.1), 1.0}
    # deterministic per (seed, epoch, index); another epoch draws another augmentation
    again = ds[1]
    assert torch.equal(it["heatmaps"], again["heatmaps"])
    ds.set_epoch(1)
    assert not torch.equal(ds[1]["image"], it["image"])
    # without augmentation and scale_type long the 192x144 image fills the input's width: the padding
    # above and below it (16 input rows = 4 map rows each) is ignored (mask 0)
    plain = BottomUpDataset(src, "coco17", codec, BottomUpConfig(scale_type="long"), norm, augment=False)
    m = plain[0]["mask"].numpy()
    assert m[:, :3].max() == 0 and m[:, -3:].max() == 0 and m[:, 5:-5].min() > 0


def test_ap_is_one_when_the_outputs_are_the_exact_targets(coco_root):
    val = _val(coco_root)
    codec = DEKRCodec(input_size=(256, 256), heatmap_size=(64, 64))
    norm = build_normalize(load_experiment("demo_human_dekr").normalize)
    res = evaluate_bottomup(Replay(exact_dekr_outputs(val, 256), stride=4), val, codec, norm, SPEC, torch.device("cpu"))
    assert res["stats"]["AP"] == pytest.approx(1.0) and res["stats"]["AR"] == pytest.approx(1.0)
    assert len(res["stats"]) == 10
    n_people = sum(1 for i in val.image_ids for p in val.people(i) if (p.keypoints[:, 2] > 0).any())
    assert len(res["results"]) == n_people


def test_flip_test_on_mirror_symmetric_outputs_changes_nothing(coco_root):
    """A network whose output on the shifted mirror is the mirror of its output: flip test = plain test."""
    val = _val(coco_root)
    codec = DEKRCodec(input_size=(256, 256), heatmap_size=(64, 64))
    norm = build_normalize(load_experiment("demo_human_dekr").normalize)
    image_id = val.image_ids[0]
    exact = exact_dekr_outputs(val, 256)[0]
    # the outputs a perfect network gives on the mirrored input: mirrored targets
    people = val.people(image_id)
    info = val.coco.imgs[image_id]
    size, center, scale = multi_scale_size(info["height"], info["width"], 256, 1.0)
    kp = np.stack([p.keypoints for p in people]).astype(np.float64)
    kp[..., :2] = affine_points(kp[..., :2], get_affine_transform(center, scale, 0, size)) / 4.0
    w = size[0] // 4
    t = DEKRCodec(input_size=size, heatmap_size=(w, size[1] // 4)).encode_hm(SPEC.flip_keypoints(kp, w))
    mirrored = (torch.from_numpy(t["heatmaps"])[None], torch.from_numpy(t["offsets"])[None])
    from datasets.sample import read_image
    image = read_image(os.path.join(val.image_dir, info["file_name"]))
    plain, s_plain = predict_image(Replay([exact], stride=4), image, codec, norm, SPEC, torch.device("cpu"))
    flipped, s_flip = predict_image(Replay([exact, mirrored], stride=4), image, codec, norm, SPEC, torch.device("cpu"),
                                    flip=True)
    assert flipped.shape == plain.shape
    lab = kp[..., 2] > 0
    for gt_img, m in zip(np.stack([p.keypoints for p in people]), lab):
        err = np.abs(flipped[:, m, :2] - gt_img[None, m, :2]).max(axis=(1, 2))
        assert err.min() < 1e-2


def test_official_dekr_layout_loads_and_runs_through_evaluate(coco_root, checkpoint_keys, tmp_path, capsys):
    ref = checkpoint_keys["dekr_w32_17j"]["state_dict"]
    gen = torch.Generator().manual_seed(0)
    fake = {}
    for k, shape in ref:
        if k.endswith("num_batches_tracked"):
            fake[k] = torch.tensor(0)
        elif k.endswith("running_var"):
            fake[k] = torch.ones(shape)
        elif k.endswith("regular_matrix"):
            fake[k] = torch.tensor([[-1, -1, -1, 0, 0, 0, 1, 1, 1], [-1, 0, 1, -1, 0, 1, -1, 0, 1]], dtype=torch.float32)
        else:
            fake[k] = torch.randn(shape, generator=gen) * 0.01
    ckpt = str(tmp_path / "pose_dekr_hrnetw32_coco.pth")
    torch.save(fake, ckpt)                                                   # plain state_dict, as released
    with open(os.path.join(CONFIG_DIR, "dekr_w32_coco_512.yaml")) as f:
        cfg = yaml.safe_load(f)
    cfg["codec"]["input_size"], cfg["codec"]["heatmap_size"] = [64, 64], [16, 16]   # fast on a CPU
    cfg_path = str(tmp_path / "dekr_w32_small.yaml")
    with open(cfg_path, "w") as f:
        yaml.safe_dump(cfg, f)
    rescore = str(tmp_path / "final_rescore_coco_kpt.pth")
    torch.save(build_model("dekr_rescore", 17).state_dict(), rescore)
    out = str(tmp_path / "eval")
    rc = main(["evaluate", "--checkpoint", ckpt, "--config", cfg_path, "--data", coco_root, "--split", "val2017",
               "--flip", "--rescore", rescore, "--out", out, "--device", "cpu", "--quiet"])
    assert rc == 0
    with open(os.path.join(out, "coco_stats.json")) as f:
        stats = json.load(f)["dekr_w32_coco_512"]
    assert len(stats) == 10
    assert "| method | AP |" in capsys.readouterr().out


def test_loss_falls_on_a_fixed_batch(coco_root, tmp_path):
    cfg = load_experiment("demo_human_dekr", [
        f"train_data.root={coco_root}", f"val_data.root={coco_root}", "codec.input_size=[64, 64]",
        "codec.heatmap_size=[16, 16]", "train.batch_size=4", "train.workers=0", "train.device=cpu",
        "model.options={width: 8, stem_channels: 16, offset_channels_per_joint: 4}",
        "loss.offset_weight=0.03"])   # the paper's weight, independent of the demo preset's
    tr = make_trainer(cfg, str(tmp_path / "run"), quiet=True, log=lambda *_: None)
    batch = next(iter(tr.epoch_loader(tr.train_set, 0)))
    tr.model.train()
    losses = []
    for _ in range(25):
        loss = tr.batch_loss(batch)
        tr.optimizer_step(loss, 0, 0)
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses


def test_pretrain_and_evaluate_commands(coco_root, tmp_path, capsys):
    out = str(tmp_path / "run")
    rc = main(["pretrain", "--config", "demo_human_dekr", "--set", f"train_data.root={coco_root}",
               "--set", f"val_data.root={coco_root}", "--set", "codec.input_size=[64, 64]",
               "--set", "codec.heatmap_size=[16, 16]", "--set", "train.epochs=1", "--set", "train.batch_size=3",
               "--set", "model.options={width: 8, stem_channels: 16, offset_channels_per_joint: 4}",
               "--out", out, "--workers", "0", "--device", "cpu", "--quiet"])
    assert rc == 0
    assert all(os.path.isfile(os.path.join(out, f)) for f in ("best.pt", "last.pt", "history.json"))
    ev = str(tmp_path / "eval")
    rc = main(["evaluate", "--checkpoint", os.path.join(out, "best.pt"), "--out", ev, "--device", "cpu", "--quiet"])
    assert rc == 0
    with open(os.path.join(ev, "coco_stats.json")) as f:
        assert set(json.load(f)["demo_human_dekr"]) >= {"AP", "AP .5", "AR (L)"}
    assert os.path.isfile(os.path.join(ev, "keypoint_results.json"))
    # multi-scale testing takes the official multi-scale pose-NMS threshold 0.15; --nms-threshold sets it
    capsys.readouterr()
    for extra, want in (([], "scales [1.0], pose-NMS threshold 0.05"),
                        (["--scales", "1", "0.5"], "scales [1.0, 0.5], pose-NMS threshold 0.15"),
                        (["--scales", "1", "0.5", "--nms-threshold", "0.3"], "pose-NMS threshold 0.3")):
        assert main(["evaluate", "--checkpoint", os.path.join(out, "best.pt"), "--out", ev, "--device", "cpu",
                     *extra]) == 0
        assert want in capsys.readouterr().out, extra
    # the rescore net trained from this checkpoint loads back into evaluate --rescore
    # (a one-epoch model finds nobody: the error says so; with a constant centre map of 1 it finds poses)
    rs = str(tmp_path / "rescore")
    capsys.readouterr()
    assert main(["rescore", "--checkpoint", os.path.join(out, "best.pt"), "--out", rs, "--quiet"]) != 0
    assert "detected no pose" in capsys.readouterr().err
    ckpt = torch.load(os.path.join(out, "best.pt"), weights_only=False)
    ckpt["state_dict"]["head_heatmap.1.weight"][17] = 0.0
    ckpt["state_dict"]["head_heatmap.1.bias"][17] = 1.0
    torch.save(ckpt, os.path.join(out, "centres.pt"))
    assert main(["rescore", "--checkpoint", os.path.join(out, "centres.pt"), "--out", rs, "--epochs", "2",
                 "--batch-size", "4", "--device", "cpu", "--quiet"]) == 0
    with np.load(os.path.join(rs, "rescore_data.npz")) as z:
        assert z["poses"].shape[1:] == (17, 3) and z["poses"].shape[0] == z["oks"].shape[0] > 0
        assert ((z["oks"] >= 0) & (z["oks"] <= 1)).all()
    with open(os.path.join(rs, "rescore_losses.json")) as f:
        log = json.load(f)
    assert log["epochs"] == 2 and len(log["losses"]) == 2 and log["spec"] == "coco17"
    assert set(torch.load(os.path.join(rs, "rescore_net.pth"))) == {f"l{i}.{p}" for i in (1, 2, 3)
                                                                     for p in ("weight", "bias")}
    assert main(["evaluate", "--checkpoint", os.path.join(out, "centres.pt"), "--out", ev, "--device", "cpu",
                 "--rescore", os.path.join(rs, "rescore_net.pth"), "--quiet"]) == 0
    # training again from the saved data needs the spec; a missing file is one line
    assert main(["rescore", "--data-file", os.path.join(rs, "rescore_data.npz"), "--spec", "coco17",
                 "--out", rs, "--epochs", "1", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["rescore", "--data-file", os.path.join(rs, "missing.npz"), "--spec", "coco17"]) != 0
    assert "missing.npz" in capsys.readouterr().err


def test_sampled_deform_conv_equals_torchvision():
    from torchvision.ops import deform_conv2d
    from animalpose.models.dekr import AdaptBlock, deform_conv3x3_sampled
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 5, 7, 9, generator=gen, dtype=torch.float64)
    off = torch.randn(2, 18, 7, 9, generator=gen, dtype=torch.float64) * 3          # samples leave the map too
    w = torch.randn(4, 5, 3, 3, generator=gen, dtype=torch.float64)
    for d in (1, 2):
        torch.testing.assert_close(deform_conv3x3_sampled(x, off, w, d), deform_conv2d(x, off, w, padding=d, dilation=d))
    blk = AdaptBlock(5, 5).double().eval()
    with torch.no_grad():
        blk.transform_matrix_conv.weight.normal_(generator=gen)
        blk.translation_conv.bias.normal_(generator=gen)
    ref = blk.relu(blk.bn(blk.adapt_conv(x, blk.offsets(x))) + x)
    torch.testing.assert_close(blk(x), ref)


def test_lite_variants_keep_the_official_layout():
    hr = build_model("hrnet_lite", 17)
    assert hr(torch.randn(1, 3, 64, 48)).shape == (1, 17, 16, 12)
    de = build_model("dekr_lite", 17)
    hm, off = de(torch.randn(1, 3, 64, 64))
    assert hm.shape == (1, 18, 16, 16) and off.shape == (1, 34, 16, 16)
    keys = set(de.state_dict())
    assert {"transition_heatmap.0.weight", "head_heatmap.1.weight", "offset_feature_layers.16.0.regular_matrix",
            "offset_final_layer.16.weight", "stage4.0.fuse_layers.3.0.0.0.weight"} <= keys


def test_predict_command_on_a_dekr_checkpoint_finds_every_person(coco_root, tmp_path, capsys):
    """``predict`` runs bottom-up models without --bbox; its poses are predict_image's, in image pixels."""
    from animalpose.engine.inference import load_trained
    from datasets.sample import read_image
    out = str(tmp_path / "run")
    assert main(["pretrain", "--config", "demo_human_dekr", "--set", f"train_data.root={coco_root}",
                 "--set", f"val_data.root={coco_root}", "--set", "codec.input_size=[64, 64]",
                 "--set", "codec.heatmap_size=[16, 16]", "--set", "train.epochs=1", "--set", "train.batch_size=3",
                 "--set", "train.val_every=0",
                 "--set", "model.options={width: 8, stem_channels: 16, offset_channels_per_joint: 4}",
                 "--out", out, "--workers", "0", "--device", "cpu", "--quiet"]) == 0
    ckpt = os.path.join(out, "last.pt")
    image = os.path.join(coco_root, "coco", "val2017", "000000000001.jpg")
    pred = tmp_path / "pred"
    assert main(["predict", "--checkpoint", ckpt, image, "--out", str(pred), "--device", "cpu", "--quiet"]) == 0
    doc = json.loads((pred / "keypoints.json").read_text())
    assert doc["model"] == "bottomup" and len(doc["joints"]) == 17 and "pose score" in doc["score"]
    tm = load_trained(ckpt, torch.device("cpu"))
    poses, scores = predict_image(tm.model, read_image(image), tm.codec, tm.normalize, tm.spec, torch.device("cpu"))
    assert len(doc["predictions"]) == len(poses)
    for rec, kp, score in zip(doc["predictions"], poses, scores):
        assert rec["file"] == image and rec["frame"] is None
        np.testing.assert_allclose(np.array(rec["keypoints"])[:, :2], kp[:, :2], atol=0.006)
        assert rec["score"] == pytest.approx(float(score), abs=1e-4)
    assert (pred / (os.path.splitext(os.path.basename(image))[0] + "_pose.png")).is_file()
    # --bbox is a top-down notion: refused in one line naming the checkpoint
    assert main(["predict", "--checkpoint", ckpt, image, "--bbox", "0", "0", "10", "10", "--out", str(pred),
                 "--quiet"]) == 1
    assert "bottom-up (DEKR) model" in capsys.readouterr().err


def test_bottomup_predictor_returns_every_person_in_image_pixels(coco_root):
    """The predict command's bottom-up path on the perfect network output: each annotated person comes
    back, in image pixels, with a box around its joints and a pose score."""
    from types import SimpleNamespace
    from animalpose.commands.predict import Predictor, _records
    from datasets.sample import read_image
    val = _val(coco_root)
    k = next(i for i, image_id in enumerate(val.image_ids) if len(val.people(image_id)) >= 2)
    image_id = val.image_ids[k]
    exact = exact_dekr_outputs(val, 256)[k]
    cfg = load_experiment("demo_human_dekr", ["codec.input_size=[256, 256]", "codec.heatmap_size=[64, 64]",
                                              "bottomup.test_scales=[1.0]"])
    tm = SimpleNamespace(model=Replay([exact], stride=4), cfg=cfg, spec=SPEC, device=torch.device("cpu"),
                         codec=DEKRCodec(input_size=(256, 256), heatmap_size=(64, 64)),
                         normalize=build_normalize(cfg.normalize))
    info = val.coco.imgs[image_id]
    image = read_image(os.path.join(val.image_dir, info["file_name"]))
    instances = Predictor(tm, SimpleNamespace(bbox=None, flip=False, checkpoint="dekr.pt"), torch.device("cpu"))(
        image, "img.jpg")
    people = val.people(image_id)
    assert len(instances) >= len(people)
    for person in people:
        lab = person.keypoints[:, 2] > 0
        errs = [np.abs(inst["keypoints"][lab, :2] - person.keypoints[lab, :2]).max() for inst in instances]
        best = instances[int(np.argmin(errs))]
        assert min(errs) < 1e-2
        x1, y1, x2, y2 = best["bbox"]
        assert x1 <= person.keypoints[lab, 0].min() + 0.01 and x2 >= person.keypoints[lab, 0].max() - 0.01
        assert y1 <= person.keypoints[lab, 1].min() + 0.01 and y2 >= person.keypoints[lab, 1].max() - 0.01
        assert best["score"] > 0
    recs = _records("img.jpg", None, instances)
    assert [r["instance"] for r in recs] == list(range(len(instances)))
    assert all(len(r["keypoints"]) == 17 for r in recs)


def test_dekr_resume_equals_uninterrupted(coco_root, tmp_path):
    """Bottom-up DEKR runs through the one training loop and resumes bit for bit."""
    base = ["pretrain", "--config", "demo_human_dekr", "--set", f"train_data.root={coco_root}",
            "--set", f"val_data.root={coco_root}", "--set", "codec.input_size=[64, 64]",
            "--set", "codec.heatmap_size=[16, 16]", "--set", "train.batch_size=3", "--set", "train.val_every=0",
            "--set", "model.options={width: 8, stem_channels: 16, offset_channels_per_joint: 4}",
            "--workers", "0", "--device", "cpu", "--quiet"]
    from resume_helpers import assert_same_tensors, full_and_resumed
    a, b, _, _ = full_and_resumed(lambda out, *extra: main(base + ["--out", out, *extra]), tmp_path)
    assert_same_tensors(a["state_dict"], b["state_dict"])
    assert [h["loss"] for h in a["history"]] == [h["loss"] for h in b["history"]]
