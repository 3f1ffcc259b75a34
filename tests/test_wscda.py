"""WS-CDA + PPLO: discriminator loss by hand, gradient reversal signs, joint masks, PPLO schedule,
and few-step runs of `animalpose adapt --method wscda|pplo` and the experiment script on tiny data."""
import json
import math
import os

import numpy as np
import pytest
import torch

from animalpose.cli import main
from animalpose.engine.configio import ConfigError
from animalpose.engine.losses import JointsMSELoss
from animalpose.keypoints import get_mapping, get_spec
from animalpose.models import build_model
from wscda.config import PPLOConfig, load_wscda_experiment
from wscda.data import BoxesOnly, joint_mask, split_by_image
from wscda.discriminator import DomainDiscriminator, FeatureTap, default_feature_layer, feature_channels
from wscda.grl import grad_reverse, grl_coefficient
from wscda.losses import ddl_loss, per_image_mse, pose_loss
from wscda.pplo import PPLOLabels, select_joints, threshold_schedule


def _logit(p):
    p = torch.as_tensor(p, dtype=torch.float64)
    return torch.log(p) - torch.log1p(-p)


# ------------------------------------------------------------------ losses
def test_ddl_loss_matches_the_formula_by_hand():
    # image 0 human, 1 animal of a seen species, 2 target-species animal
    y, z = torch.tensor([0.0, 1.0, 1.0]), torch.tensor([0.0, 0.0, 1.0])
    y_hat, z_hat = [0.2, 0.7, 0.9], [0.5, 0.4, 0.8]
    w1 = 2.0
    # -w1 * [log(1 - 0.2) + log(0.7) + log(0.9)] - [0 (human) + log(1 - 0.4) + log(0.8)]
    hand_y = -w1 * (math.log(0.8) + math.log(0.7) + math.log(0.9))
    hand_z = -(math.log(0.6) + math.log(0.8))
    out = ddl_loss(_logit(y_hat), _logit(z_hat), y, z, w1=w1, reduction="sum")
    assert out["y"].item() == pytest.approx(hand_y, rel=1e-9)
    assert out["z"].item() == pytest.approx(hand_z, rel=1e-9)
    assert out["total"].item() == pytest.approx(hand_y + hand_z, rel=1e-9)
    mean = ddl_loss(_logit(y_hat), _logit(z_hat), y, z, w1=w1, reduction="mean")
    assert mean["y"].item() == pytest.approx(hand_y / 3, rel=1e-9)     # over all images
    assert mean["z"].item() == pytest.approx(hand_z / 2, rel=1e-9)     # over the animals
    # the human's z prediction never matters
    other = ddl_loss(_logit(y_hat), _logit([0.01, 0.4, 0.8]), y, z, w1=w1, reduction="sum")
    assert other["total"].item() == pytest.approx(out["total"].item(), rel=1e-12)


def test_pose_loss_weights_animals_and_humans_and_matches_joints_mse():
    g = torch.Generator().manual_seed(0)
    pred, target = torch.rand(4, 5, 8, 8, generator=g), torch.rand(4, 5, 8, 8, generator=g)
    weight = (torch.rand(4, 5, generator=g) > 0.3).float()
    per = per_image_mse(pred, target, weight)
    assert per.mean().item() == pytest.approx(JointsMSELoss()(pred, target, weight).item(), rel=1e-6)
    y = torch.tensor([0.0, 0.0, 1.0, 1.0])
    lp = pose_loss(per, y, w2=3.0, reduction="sum")
    assert lp["animal"].item() == pytest.approx(3.0 * (per[2] + per[3]).item(), rel=1e-6)
    assert lp["human"].item() == pytest.approx((per[0] + per[1]).item(), rel=1e-6)
    # an unlabelled (target) image adds nothing and is not counted in the mean
    lab = torch.tensor([1.0, 1.0, 1.0, 0.0])
    lm = pose_loss(per, y, w2=3.0, labelled=lab, reduction="mean")
    assert lm["total"].item() == pytest.approx((per[0] + per[1] + 3.0 * per[2]).item() / 3, rel=1e-6)
    # stacks are summed like JointsMSELoss
    assert per_image_mse([pred, pred], target, weight).mean().item() == pytest.approx(
        JointsMSELoss()([pred, pred], target, weight).item(), rel=1e-6)


# ------------------------------------------------------------------ gradient reversal
def test_grl_is_identity_forward_and_negates_the_gradient():
    x = torch.randn(3, 4, requires_grad=True)
    y = grad_reverse(x, 0.5)
    assert torch.equal(y, x)
    (y * torch.arange(4.0)).sum().backward()
    assert torch.allclose(x.grad, -0.5 * torch.arange(4.0).expand(3, 4))
    assert grl_coefficient("constant", 0.3) == 1.0
    assert grl_coefficient("dann", 0.0) == 0.0 and 0.99 < grl_coefficient("dann", 1.0) < 1.0
    with pytest.raises(ValueError):
        grad_reverse(x, -1.0)


def _ddl_grads(model, tap, disc, x, y, z, reverse: bool, coeff: float = 1.0):
    model.zero_grad()
    disc.zero_grad()
    model(x)
    f = tap.pop()
    logits = disc(grad_reverse(f, coeff) if reverse else f)
    ddl_loss(logits[:, 0], logits[:, 1], y, z).get("total").backward()
    ext = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    dis = {n: p.grad.clone() for n, p in disc.named_parameters()}
    return ext, dis


def test_extractor_gets_the_reversed_discriminator_gradient():
    torch.manual_seed(0)
    model = build_model("hourglass", 20, stacks=1, blocks=1, features=8)
    tap = FeatureTap(model, default_feature_layer("hourglass", {"stacks": 1}))
    disc = DomainDiscriminator(feature_channels(model, tap, (64, 64)), channels=8, layers=1)
    model.eval()   # fixed BN statistics: the two passes see the same function
    disc.eval()
    x = torch.randn(4, 3, 64, 64)
    y, z = torch.tensor([0.0, 0.0, 1.0, 1.0]), torch.tensor([0.0, 0.0, 0.0, 1.0])
    plain_ext, plain_dis = _ddl_grads(model, tap, disc, x, y, z, reverse=False)
    rev_ext, rev_dis = _ddl_grads(model, tap, disc, x, y, z, reverse=True, coeff=0.7)
    # the discriminator descends its own loss in both cases
    for n in plain_dis:
        torch.testing.assert_close(rev_dis[n], plain_dis[n])
    # the extractor receives -0.7 x the gradient of L_DDL: opposite sign
    stem = "conv1.weight"
    assert plain_ext[stem].abs().sum() > 0
    torch.testing.assert_close(rev_ext[stem], -0.7 * plain_ext[stem], rtol=1e-4, atol=1e-8)
    dot = sum((rev_ext[n] * plain_ext[n]).sum() for n in plain_ext)
    assert dot < 0
    # the keypoint head after the tap gets nothing from L_DDL
    assert "score.0.weight" not in rev_ext or rev_ext["score.0.weight"].abs().sum() == 0


def test_feature_tap_input_and_bad_layer():
    model = build_model("hourglass", 20, stacks=2, blocks=1, features=8)
    assert default_feature_layer("hourglass", {"stacks": 2}) == "fc.1"
    assert default_feature_layer("simplebaseline_res50") == "layer4"
    assert default_feature_layer("hrnet_w32") == "final_layer:input"
    tap = FeatureTap(model, "score.1:input")
    assert feature_channels(model, tap, (64, 64)) == 16
    with pytest.raises(ValueError, match="no module"):
        FeatureTap(model, "nope")


# ------------------------------------------------------------------ joint mapping masks
def test_human_joints_supervise_only_their_animal_counterparts(wscda_data):
    from animalpose.codecs import build_codec
    from animalpose.engine.config import AugmentConfig, DataConfig
    from animalpose.engine.data import TopDownDataset, build_source
    from animalpose.transforms import Normalize
    m = get_mapping("coco17", "animalpose20")
    mask = joint_mask("coco17", "animalpose20")
    ap = get_spec("animalpose20")
    unmapped = {"l_b_elbow", "r_b_elbow", "l_f_knee", "r_f_knee", "throat", "withers", "tailbase"}
    assert {ap.joints[i] for i in np.nonzero(~mask)[0]} == unmapped
    assert mask.sum() == 13 and np.array_equal(mask, m.mask)
    assert joint_mask("animalpose20", "animalpose20").all()
    human = build_source(DataConfig(dataset="coco", root=wscda_data, split="train2017"))
    codec = build_codec("bearpaw", input_size=(64, 64), heatmap_size=(16, 16), sigma=1.0)
    ds = TopDownDataset(human, "animalpose20", codec, AugmentConfig(recipe="none"), Normalize())
    weights = np.stack([ds[i]["target_weight"].numpy() for i in range(len(ds))])
    targets = np.stack([ds[i]["target"].numpy() for i in range(len(ds))])
    assert (weights[:, ~mask] == 0).all() and (targets[:, ~mask] == 0).all()
    assert weights[:, mask].mean() > 0.5
    # a human image's loss ignores what the network says at the unmapped joints
    t, w = torch.from_numpy(targets[:2]), torch.from_numpy(weights[:2])
    pred = torch.rand_like(t)
    moved = pred.clone()
    moved[:, torch.from_numpy(~mask)] += 5.0
    torch.testing.assert_close(per_image_mse(pred, t, w), per_image_mse(moved, t, w))


def test_boxes_only_and_split_by_image(wscda_data):
    from animalpose.engine.config import DataConfig
    from animalpose.engine.data import build_source
    src = build_source(DataConfig(dataset="animalpose", root=wscda_data))
    b = BoxesOnly(src)
    assert len(b) == len(src) and (b.annotation(0).keypoints == 0).all() and (b[0].keypoints == 0).all()
    np.testing.assert_array_equal(b.annotation(0).bbox, src.annotation(0).bbox)
    tr, te = split_by_image(src, 0.3, seed=1)
    assert sorted(tr + te) == list(range(len(src))) and tr and te
    img = lambda idx: {src.annotation(i).image_id for i in idx}   # noqa: E731
    assert not img(tr) & img(te)
    assert split_by_image(src, 0.3, seed=1) == (tr, te)


# ------------------------------------------------------------------ PPLO
def test_pplo_threshold_schedule_relaxes():
    assert threshold_schedule(0.6, 0.4, 3) == pytest.approx([0.6, 0.5, 0.4])
    assert threshold_schedule(0.8, 0.2, 1) == [0.8]
    geo = threshold_schedule(0.8, 0.2, 3, "geometric")
    assert geo == pytest.approx([0.8, 0.4, 0.2])
    lin = threshold_schedule(0.9, 0.1, 7)
    assert all(a >= b for a, b in zip(lin, lin[1:]))
    with pytest.raises(ValueError, match="relax"):
        threshold_schedule(0.3, 0.6, 3)
    with pytest.raises(ValueError):
        threshold_schedule(0.6, 0.3, 0)


def test_pplo_selection_keeps_more_joints_each_round():
    conf = np.array([[0.9, 0.55, 0.45, 0.1], [0.7, 0.65, 0.2, 0.05]])
    kept = []
    for thr in threshold_schedule(0.6, 0.4, 3):
        w, cut = select_joints(conf, thr)
        assert cut == thr
        kept.append(w.sum())
    assert kept == [3, 4, 5]
    w, _ = select_joints(conf, 0.4, min_joints=3)     # row 0 keeps 3 joints, row 1 only 2 -> dropped
    assert w[0].tolist() == [1, 1, 1, 0] and w[1].sum() == 0
    w, cut = select_joints(conf, 0.75, mode="quantile")
    assert w.sum() == 2 and cut == pytest.approx(np.quantile(conf, 0.75))


def test_pplo_labels_round_trip(tmp_path):
    lab = PPLOLabels(np.random.rand(3, 20, 2).astype(np.float32), np.random.rand(3, 20).astype(np.float32),
                     (np.random.rand(3, 20) > 0.5).astype(np.float32), 0.5, 0.5, 1)
    back = PPLOLabels.load(lab.save(str(tmp_path / "r.npz")))
    np.testing.assert_array_equal(back.image_keypoints(), lab.image_keypoints())
    assert back.round == 1 and back.threshold == 0.5
    with pytest.raises(ValueError, match="not a PPLO label file"):
        PPLOLabels.load(str(tmp_path / "missing.npz"))


# ------------------------------------------------------------------ config
def test_config_section_loading_and_errors(tmp_path):
    cfg, w = load_wscda_experiment("wscda_demo", ["wscda.pplo.rounds=4", "train.epochs=3"])
    assert cfg.train.epochs == 3 and w.pplo.rounds == 4 and w.alpha == -1.0 and w.beta == 500.0
    cfg, w = load_wscda_experiment("wscda_animalpose_horse")
    assert w.feature_layer == "layer4" and cfg.train_data.exclude == ["horse"]
    with pytest.raises(ConfigError, match="wscda.nope"):
        load_wscda_experiment("wscda_demo", ["wscda.nope=1"])
    with pytest.raises(ConfigError, match="alpha \\* beta"):
        load_wscda_experiment("wscda_demo", ["wscda.alpha=1.0"])
    with pytest.raises(ConfigError, match="no `wscda` section"):
        load_wscda_experiment("demo_real")
    with pytest.raises(ValueError, match="relax"):
        PPLOConfig(threshold_start=0.2, threshold_end=0.5)


# ------------------------------------------------------------------ end to end (tiny data)
@pytest.fixture(scope="module")
def wscda_data(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("wscda_data"))
    assert main(["generate", "--preset", "tiny", "--out", root, "--only", "animalpose", "coco", "--quiet"]) == 0
    return root


def _small(root):
    sets = [f"train_data.root={root}", f"wscda.human_data.root={root}", f"wscda.target_data.root={root}",
            "model.options={stacks: 1, blocks: 1, features: 8}", "codec.input_size=[64, 64]",
            "codec.heatmap_size=[16, 16]", "train.batch_size=4", "wscda.human_batch_size=4",
            "wscda.target_batch_size=2", "train.max_steps_per_epoch=2", "wscda.test_fraction=0.5",
            "wscda.discriminator.channels=8", "wscda.pplo.rounds=2", "wscda.pplo.epochs_per_round=1",
            "wscda.pplo.threshold_start=0.0", "wscda.pplo.threshold_end=0.0", "wscda.pplo.min_joints=0"]
    return [x for s in sets for x in ("--set", s)]


def test_adapt_wscda_then_pplo_few_steps(wscda_data, tmp_path):
    out_w, out_p = str(tmp_path / "wscda"), str(tmp_path / "pplo")
    base = ["adapt", "--config", "wscda_demo", *_small(wscda_data), "--workers", "0", "--quiet"]
    assert main(base[:1] + ["--method", "wscda"] + base[1:] + ["--set", "train.epochs=1", "--out", out_w]) == 0
    assert main(base[:1] + ["--method", "wscda"] + base[1:] + ["--set", "train.epochs=2", "--out", out_w,
                                                                "--resume"]) == 0
    ck = torch.load(os.path.join(out_w, "last.pt"), weights_only=True)
    assert ck["epoch"] == 1 and "discriminator" in ck and ck["config"]["wscda"]["alpha"] == -1.0
    losses = json.load(open(os.path.join(out_w, "losses.json")))
    assert [r["epoch"] for r in losses] == [1, 2]
    for r in losses:   # both players' losses are logged
        assert {"disc", "extractor", "pose", "ddl_y", "ddl_z", "acc_y", "acc_z"} <= set(r)
        assert r["extractor"] == pytest.approx(500.0 * r["pose"] - r["disc"], rel=1e-3, abs=1e-3)
    # the kit's evaluation reads the checkpoint as any other
    assert main(["evaluate", "--checkpoint", os.path.join(out_w, "last.pt"), "--data", wscda_data,
                 "--dataset", "animalpose", "--protocol", "pck-bbox", "--out", str(tmp_path / "ev"),
                 "--quiet"]) == 0
    assert main(base[:1] + ["--method", "pplo", "--source", os.path.join(out_w, "last.pt")] + base[1:]
                + ["--out", out_p]) == 0
    for r in (0, 1):
        lab = PPLOLabels.load(os.path.join(out_p, "pplo_labels", f"round_{r:02d}.npz"))
        assert lab.round == r and lab.weights.all()         # threshold 0 keeps every joint
    assert torch.load(os.path.join(out_p, "last.pt"), weights_only=True)["epoch"] == 1
    # errors
    assert main(base[:1] + ["--method", "pplo"] + base[1:] + ["--out", out_p + "2"]) == 1
    assert main(base[:1] + ["--method", "wscda", "--no-temporal"] + base[1:] + ["--out", out_p + "3"]) == 1


def test_experiment_script_writes_the_four_methods(wscda_data, tmp_path):
    import importlib.util
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts",
                        "wscda_experiment.py")
    spec = importlib.util.spec_from_file_location("wscda_experiment", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    sets = _small(wscda_data)[1::2][3:] + ["train.epochs=1", "wscda.pplo.rounds=1"]
    out = str(tmp_path / "exp")
    argv = ["--out", out, "--data", wscda_data, "--quiet"] + [x for s in sets for x in ("--set", s)]
    assert mod.main(argv) == 0
    rep = json.load(open(os.path.join(out, "report.json")))
    assert list(rep["methods"]) == ["animal_only", "with_human", "wscda", "wscda_pplo"]
    for m in rep["methods"].values():
        assert {"mean", "per_joint", "ap"} <= set(m) and len(m["per_joint"]) == 20
        assert 0 <= m["ap"] <= 100
    for ext in ("md", "csv", "png"):
        assert os.path.getsize(os.path.join(out, f"report.{ext}")) > 0
    assert "wscda_pplo" in open(os.path.join(out, "report.md")).read()


def test_wscda_resume_equals_uninterrupted(wscda_data, tmp_path):
    """The one training loop resumes WS-CDA bit for bit: model, discriminator and logged losses."""
    base = ["adapt", "--method", "wscda", "--config", "wscda_demo", *_small(wscda_data), "--workers", "0",
            "--quiet", "--device", "cpu"]
    from resume_helpers import assert_same_tensors, full_and_resumed
    a, b, full, part = full_and_resumed(lambda out, *extra: main(base + ["--out", out, *extra]), tmp_path)
    assert a.get("discriminator")
    assert_same_tensors(a["state_dict"], b["state_dict"])
    assert_same_tensors(a["discriminator"], b["discriminator"])
    assert json.load(open(os.path.join(full, "losses.json"))) == json.load(open(os.path.join(part, "losses.json")))
