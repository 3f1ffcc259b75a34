"""CC-SSL end to end on tiny data: pseudo-labels, their file round trip, and a few-step adapt run."""
import os

import numpy as np
import pytest
import torch

from animalpose.cli import main
from animalpose.engine.config import load_experiment
from ccssl.pseudo_labels import PseudoLabels, apply_curriculum, generate

SMALL = ["--set", "model.options={stacks: 1, blocks: 1, features: 16}", "--set", "codec.input_size=[64, 64]",
         "--set", "codec.heatmap_size=[16, 16]", "--set", "train.batch_size=4", "--set", "train_data.limit=8",
         "--set", "val_data.limit=8", "--set", "ccssl.target_data.limit=12"]


def _sets(root):
    return ["--set", f"train_data.root={root}", "--set", f"val_data.root={root}",
            "--set", f"ccssl.target_data.root={root}"]


@pytest.fixture(scope="module")
def source_ckpt(animal_data, tmp_path_factory):
    root, _ = animal_data
    out = str(tmp_path_factory.mktemp("src"))
    assert main(["pretrain", "--config", "demo_synthetic", *_sets(root)[:4], *SMALL[:-2], "--set", "train.epochs=1",
                 "--set", "train.val_every=0", "--out", out, "--workers", "0", "--quiet"]) == 0
    return root, os.path.join(out, "last.pt")


def test_pseudo_labels_map_back_to_the_image_and_round_trip(source_ckpt, tmp_path):
    root, ckpt = source_ckpt
    from animalpose.engine.data import build_source
    from animalpose.engine.inference import load_trained
    cfg = load_experiment("demo_ccssl", [s for s in (SMALL + _sets(root)) if s != "--set"])
    tm = load_trained(ckpt, torch.device("cpu"))
    src = build_source(cfg.ccssl.target_data)
    labels = generate(tm.model, src, tm.spec, tm.codec, tm.normalize, torch.device("cpu"), cfg.ccssl, seed=1)
    n = len(src)
    assert labels.keypoints.shape == (n, 18, 2) and labels.confidence.shape == (n, 18)
    assert np.isfinite(labels.keypoints).all() and np.isfinite(labels.confidence).all()
    # identity-crop keypoints -> image -> identity crop again
    img = labels.image_keypoints()
    back = np.einsum("nij,nkj->nki", labels.matrices[:, :, :2], img[..., :2]) + labels.matrices[:, None, :, 2]
    np.testing.assert_allclose(back, labels.keypoints, atol=1e-3)
    # same seed -> same labels
    again = generate(tm.model, src, tm.spec, tm.codec, tm.normalize, torch.device("cpu"), cfg.ccssl, seed=1)
    np.testing.assert_array_equal(again.keypoints, labels.keypoints)
    apply_curriculum(labels, 0, cfg.ccssl)
    assert 0.0 < labels.weights.mean() <= 0.25          # the first round keeps about the top 20 %
    path = labels.save(str(tmp_path / "round.npz"))
    loaded = PseudoLabels.load(path)
    for f in ("keypoints", "confidence", "weights", "matrices", "replaced"):
        np.testing.assert_array_equal(getattr(loaded, f), getattr(labels, f))
    assert loaded.threshold == labels.threshold
    with pytest.raises(ValueError, match="not a pseudo-label file"):
        PseudoLabels.load(str(tmp_path / "missing.npz"))


def test_adapt_few_steps_writes_labels_and_resumes(source_ckpt, tmp_path):
    root, ckpt = source_ckpt
    out = str(tmp_path / "adapt")
    args = ["adapt", "--method", "ccssl", "--config", "demo_ccssl", *_sets(root), *SMALL, "--set", "train.epochs=2",
            "--set", "ccssl.label_every=1", "--set", "train.val_every=1", "--out", out, "--workers", "0", "--quiet"]
    assert main(args[:5] + ["--source", ckpt] + args[5:] + ["--set", "train.epochs=1"]) == 0
    assert os.path.isfile(os.path.join(out, "ssl_labels", "round_000.npz"))
    assert main(args + ["--resume"]) == 0       # epoch 2 with a new labelling round
    assert os.path.isfile(os.path.join(out, "ssl_labels", "round_001.npz"))
    ck = torch.load(os.path.join(out, "last.pt"), weights_only=True)
    assert ck["epoch"] == 1 and ck["config"]["ccssl"]["label_every"] == 1


def test_adapt_errors(source_ckpt, tmp_path, capsys):
    root, _ = source_ckpt
    assert main(["adapt", "--config", "demo_ccssl", "--quiet", "--out", str(tmp_path)]) == 1
    assert "--source CKPT is required" in capsys.readouterr().err
    assert main(["adapt", "--config", "demo_synthetic", "--source", __file__, "--quiet", *_sets(root)[:4],
                 "--out", str(tmp_path)]) == 1
    assert "no `ccssl` section" in capsys.readouterr().err


def test_ccssl_r_finetunes_the_adapted_weights_on_target_labels(source_ckpt, tmp_path):
    from ccssl.refine import finetune_config
    cfg = load_experiment("demo_ccssl", ["ccssl.finetune_epochs=3"])
    r = finetune_config(cfg, "adapted.pt")
    assert r.train_data == cfg.ccssl.target_data and r.augment == cfg.ccssl.target_augment
    assert r.model.pretrained == "adapted.pt" and r.ccssl is None and r.train.epochs == 3
    assert r.optim == cfg.optim and r.val_data == cfg.val_data
    cfg.ccssl.finetune_epochs = 0
    with pytest.raises(ValueError, match="finetune_epochs"):
        finetune_config(cfg, "adapted.pt")
    # through the command: OUT/refined starts from OUT/last.pt and trains on the labelled target
    root, ckpt = source_ckpt
    out = str(tmp_path / "adapt")
    assert main(["adapt", "--method", "ccssl", "--source", ckpt, "--config", "demo_ccssl", *_sets(root), *SMALL,
                 "--set", "train.epochs=1", "--set", "train.val_every=0", "--finetune-epochs", "1",
                 "--out", out, "--workers", "0", "--quiet"]) == 0
    ck = torch.load(os.path.join(out, "refined", "last.pt"), weights_only=True)
    assert ck["config"]["model"]["pretrained"] == os.path.join(out, "last.pt")
    assert ck["config"]["train_data"]["dataset"] == "tigdog" and ck["config"]["train_data"]["split"] == "train"


def test_ccssl_resume_equals_uninterrupted(source_ckpt, tmp_path):
    """The one training loop resumes CC-SSL bit for bit, label rounds included."""
    root, ckpt = source_ckpt
    base = ["adapt", "--method", "ccssl", "--source", ckpt, "--config", "demo_ccssl", *_sets(root), *SMALL,
            "--set", "ccssl.label_every=1", "--set", "train.val_every=0", "--workers", "0", "--quiet",
            "--device", "cpu"]
    from resume_helpers import assert_same_tensors, full_and_resumed
    a, b, full, part = full_and_resumed(lambda out, *extra: main(base + ["--out", out, *extra]), tmp_path)
    assert_same_tensors(a["state_dict"], b["state_dict"])
    assert [h["loss"] for h in a["history"]] == [h["loss"] for h in b["history"]]
    la = np.load(os.path.join(full, "ssl_labels", "round_001.npz"))
    lb = np.load(os.path.join(part, "ssl_labels", "round_001.npz"))
    np.testing.assert_array_equal(la["keypoints"], lb["keypoints"])
