"""Losses against hand-computed values."""
import pytest
import torch

from animalpose.engine.losses import DEKRLoss, JointsMSELoss, smooth_l1


def test_joints_mse_by_hand():
    pred = torch.zeros(1, 2, 2, 2)
    target = torch.zeros(1, 2, 2, 2)
    pred[0, 0, 0, 0] = 1.0          # joint 0: one cell off by 1
    pred[0, 1] = 2.0                # joint 1: every cell off by 2
    w = torch.tensor([[1.0, 0.5]])
    # joint 0: 0.5 * mean([1, 0, 0, 0]) = 0.125; joint 1: 0.5 * mean((0.5 * 2)^2) = 0.5; mean over joints
    assert JointsMSELoss()(pred, target, w).item() == pytest.approx((0.125 + 0.5) / 2)
    assert JointsMSELoss(use_target_weight=False)(pred, target, w).item() == pytest.approx((0.125 + 2.0) / 2)
    # per-joint weights multiply the target weights (HRNet's joints_weight)
    jw = JointsMSELoss(joint_weights=[2.0, 1.0])(pred, target, w).item()
    assert jw == pytest.approx((0.5 + 0.5) / 2)
    # hourglass: one loss per stack, summed
    assert JointsMSELoss()([pred, pred, target], target, w).item() == pytest.approx(2 * (0.125 + 0.5) / 2)
    with pytest.raises(ValueError, match="differ in shape"):
        JointsMSELoss()(pred[:, :1], target, w)


def test_smooth_l1_and_dekr_loss_by_hand():
    beta = 1.0 / 9
    d = torch.tensor([0.05, 0.5, -2.0])
    expect = torch.tensor([0.5 * 0.05 ** 2 / beta, 0.5 - beta / 2, 2.0 - beta / 2])
    assert torch.allclose(smooth_l1(d, torch.zeros(3), beta), expect)
    hm = torch.zeros(1, 2, 2, 2)
    hm_t = torch.ones(1, 2, 2, 2)
    mask = torch.full((1, 2, 2, 2), 0.1)
    mask[0, 0, 0, 0] = 1.0
    off = torch.zeros(1, 2, 2, 2)
    off_t = torch.zeros(1, 2, 2, 2)
    off_t[0, 0, 1, 1] = 0.5
    off_w = torch.zeros(1, 2, 2, 2)
    off_w[0, :, 1, 1] = 0.25            # two positive entries
    out = DEKRLoss()(hm, off, {"heatmaps": hm_t, "mask": mask, "offsets": off_t, "offset_weights": off_w})
    assert out["heatmap"].item() == pytest.approx((1.0 + 7 * 0.1) / 8)
    assert out["offset"].item() == pytest.approx(0.03 * (0.25 * (0.5 - beta / 2)) / 2)
    assert out["total"].item() == pytest.approx(out["heatmap"].item() + out["offset"].item())
