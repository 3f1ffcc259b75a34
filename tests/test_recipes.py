"""Official training recipes (issue 19): ImageNet backbones required and loaded strictly, the
SimpleBaseline / UDP / mmpose recipes, warm-up, scheduler timing, world size."""
import os

import numpy as np
import pytest
import torch

from animalpose.engine.config import OptimConfig, load_experiment
from animalpose.engine.losses import CombinedTargetMSELoss
from animalpose.engine.optim import build_optimizer, build_scheduler, warmup_factor
from animalpose.engine.factories import build_model_from_config, check_backbone_report, output_channels, require_backbone
from animalpose.keypoints import get_spec
from animalpose.transforms.augment import RECIPES, truncnorm

PAPER = ["hrnet_w32_coco_256x192", "hrnet_w48_coco_384x288", "simplebaseline_res50_coco_256x192",
         "dekr_w32_coco_512", "ap10k_hrnet_w32_256x256", "hrnet_w32_coco_256x192_udp_combined"]


@pytest.mark.parametrize("name", PAPER)
def test_paper_configs_name_an_imagenet_backbone_that_must_exist(name):
    cfg = load_experiment(name)
    path = cfg.model.options["pretrained_backbone"]
    assert path.startswith("pretrained/") and path.endswith(".pth")
    with pytest.raises(FileNotFoundError) as e:
        require_backbone(cfg)
    assert str(e.value).startswith(f"model.options.pretrained_backbone {path!r} not found") and "--no-pretrained" in str(e.value)
    assert require_backbone(load_experiment(name, ["model.options.pretrained_backbone=null"])) is None


def test_backbone_loading_is_strict_on_the_backbone(tmp_path):
    from animalpose.models import build_model
    donor = build_model("hrnet_lite", 17).state_dict()
    full = {k: v for k, v in donor.items() if not k.startswith("final_layer")}
    full["fc.weight"] = torch.zeros(10, 3)                        # an ImageNet classifier: skipped
    good = str(tmp_path / "good.pth")
    torch.save(full, good)
    cfg = load_experiment("demo_human_topdown")
    assert cfg.model.name == "hrnet_lite"
    cfg.model.options = {**cfg.model.options, "pretrained_backbone": good}
    lines = []
    model = build_model_from_config(cfg, lines.append)
    assert "loaded" in lines[0] and "keep their init" in lines[0]
    torch.testing.assert_close(model.state_dict()["conv1.weight"], donor["conv1.weight"])
    partial = {k: v for k, v in full.items() if not k.startswith("stage2")}
    bad = str(tmp_path / "bad.pth")
    torch.save(partial, bad)
    cfg.model.options["pretrained_backbone"] = bad
    with pytest.raises(ValueError, match=r"bad.pth: \d+ backbone tensors are not in the file, e.g. stage2"):
        build_model_from_config(cfg, lines.append)
    report = {"loaded": [], "shape_mismatch": ["conv1.weight: ckpt (1,) vs model (2,)"], "not_in_model": [],
              "not_selected": [], "missing": []}
    with pytest.raises(ValueError, match="another shape"):
        check_backbone_report(report, "x.pth")


def test_cli_refuses_a_missing_backbone_in_one_line(tmp_path):
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    r = subprocess.run([sys.executable, "-m", "animalpose", "pretrain", "--config", "hrnet_w32_coco_256x192",
                        "--out", str(tmp_path / "o"), "--quiet"], cwd=root, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 1 and r.stderr.strip().count("\n") == 0
    assert "pretrained/hrnet_w32-36af842e.pth' not found" in r.stderr


def _lrs(cfg: OptimConfig, epochs: int):
    """The lr each epoch trains with under the trainer's scheduler timing."""
    opt = build_optimizer([torch.nn.Parameter(torch.zeros(1))], cfg)
    sched = build_scheduler(opt, cfg)
    out = []
    for _ in range(epochs):
        if cfg.scheduler_step == "before_epoch":
            sched.step()
        out.append(opt.param_groups[0]["lr"])
        if cfg.scheduler_step == "after_epoch":
            sched.step()
    return out


def test_scheduler_before_epoch_decays_one_epoch_early():
    after = _lrs(OptimConfig(name="adam", lr=1.0, milestones=[3]), 5)
    before = _lrs(OptimConfig(name="adam", lr=1.0, milestones=[3], scheduler_step="before_epoch"), 5)
    assert after == pytest.approx([1, 1, 1, 0.1, 0.1])
    assert before == pytest.approx([1, 1, 0.1, 0.1, 0.1])            # HRNet's loop: epoch index 2 is decayed
    assert load_experiment("hrnet_w32_coco_256x192").optim.scheduler_step == "before_epoch"


def test_warmup_factor_is_mmpose_linear_lr():
    cfg = OptimConfig(name="adam", lr=5e-4, warmup_iters=500, warmup_factor=0.001)
    assert warmup_factor(0, cfg) == pytest.approx(0.001)
    assert warmup_factor(250, cfg) == pytest.approx(0.001 + 0.999 * 0.5)
    assert warmup_factor(499, cfg) == pytest.approx(0.001 + 0.999 * 499 / 500)
    assert warmup_factor(500, cfg) == 1.0 and warmup_factor(10_000, cfg) == 1.0
    assert warmup_factor(0, OptimConfig()) == 1.0


def test_simplebaseline_and_udp_recipes():
    sb = load_experiment("simplebaseline_res50_coco_256x192")
    r = RECIPES[sb.augment.recipe]
    assert (r.scale_factor, r.rotation_factor, r.half_body_prob, r.flip_prob) == (0.30, 40.0, 0.0, 0.5)
    assert sb.normalize.bgr and sb.train.epochs == 140 and sb.optim.milestones == [90, 120]
    assert sb.train.batch_size * sb.train.world_size == 128
    udp = load_experiment("hrnet_w32_coco_256x192_udp_combined")
    assert udp.optim.lr == 3e-3 and udp.optim.warmup_iters == 500 and udp.loss.name == "combined_target"
    assert output_channels(udp, get_spec("coco17")) == 51
    hr = load_experiment("hrnet_w32_coco_256x192")
    assert hr.train.batch_size * hr.train.world_size == 128


def test_combined_target_loss_hand_computed():
    pred = torch.zeros(1, 6, 2, 2)
    target = torch.zeros(1, 6, 2, 2)
    target[0, 0, 0, 0] = 1.0                                          # joint 0: class disk at (0, 0)
    target[0, 1, 0, 0] = 0.5                                          # its x offset there
    target[0, 3, 1, 1] = 1.0                                          # joint 1 (weight 0)
    w = torch.tensor([[1.0, 0.0]])
    # joint 0: 0.5 * 1/4 (class) + 0.5 * 0.25/4 (x offset) = 0.15625; joint 1 weighted out -> mean 0.078125
    assert float(CombinedTargetMSELoss()(pred, target, w)) == pytest.approx(0.078125)
    assert float(CombinedTargetMSELoss()([pred, pred], target, w)) == pytest.approx(0.15625)


def test_truncnorm_stays_in_range_and_is_centred():
    g = np.random.default_rng(0)
    v = np.array([truncnorm(g) for _ in range(4000)])
    assert v.min() >= -1 and v.max() <= 1 and abs(v.mean()) < 0.03
    # std of N(0, 1) truncated to [-1, 1]: sqrt(1 - 2 phi(1) / (2 Phi(1) - 1)) = 0.5396
    assert v.std() == pytest.approx(0.5396, abs=0.015)
