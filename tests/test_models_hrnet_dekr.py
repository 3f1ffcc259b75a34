"""HRNet and DEKR in the model zoo.

These tests check, against the official checkpoints' key lists
(``checkpoint_keys.json``), the output shapes, the exact parameter counts,
the state_dict keys and shapes, and strict loading. They also check the
AdaptBlock offset layout against plain convolutions, the DEKR rescore net
and its features, and partial ImageNet-backbone loading.
"""

import pytest
import torch
import torch.nn.functional as F

from animalpose.models import build_model, list_models
from animalpose.models.dekr import DEKR_COCO_LIMBS, AdaptBlock, rescore_features
from animalpose.models.hrnet import HRNET_PRETRAINED_LAYERS


@pytest.fixture(scope="module")
def reference(checkpoint_keys):
    return checkpoint_keys


# name, reference id, input (H, W), official param count with 17 joints, output shapes for batch 1
MODELS = [
    ("hrnet_w32", "hrnet_w32_17j", (64, 48), 28_536_113, [(1, 17, 16, 12)]),
    ("hrnet_w48", "hrnet_w48_17j", (64, 48), 63_595_745, [(1, 17, 16, 12)]),
    ("dekr_w32", "dekr_w32_17j", (64, 64), 29_561_182, [(1, 18, 16, 16), (1, 34, 16, 16)]),
    ("dekr_w48", "dekr_w48_17j", (64, 64), 65_684_590, [(1, 18, 16, 16), (1, 34, 16, 16)]),
]


def test_registered():
    names = set(list_models())
    assert {"hrnet_w32", "hrnet_w48", "dekr_w32", "dekr_w48", "dekr_rescore"} <= names


@pytest.mark.parametrize("name,ref_id,size,n_params,out_shapes", MODELS, ids=[m[0] for m in MODELS])
def test_model_matches_official_checkpoint(reference, name, ref_id, size, n_params, out_shapes):
    torch.manual_seed(0)
    model = build_model(name, 17)
    ref = reference[ref_id]

    # exact parameter count (the json's and the published one)
    assert sum(p.numel() for p in model.parameters()) == n_params == ref["params"]

    # identical keys, shapes and order (buffers included: num_batches_tracked, regular_matrix)
    ours = [(k, list(v.shape)) for k, v in model.state_dict().items()]
    theirs = [(k, list(s)) for k, s in ref["state_dict"]]
    assert len(ours) == len(theirs)
    assert dict(ours) == dict(theirs)
    assert [k for k, _ in ours] == [k for k, _ in theirs]

    # a checkpoint with those shapes loads strictly
    gen = torch.Generator().manual_seed(1)
    fake = {}
    for k, shape in ref["state_dict"]:
        if k.endswith("num_batches_tracked"):
            fake[k] = torch.tensor(7)
        elif k.endswith("running_var"):
            fake[k] = torch.rand(shape, generator=gen) + 0.5
        else:
            fake[k] = torch.randn(shape, generator=gen) * 0.01
    model.load_state_dict(fake, strict=True)
    sd = model.state_dict()
    probe = ref["state_dict"][-1][0]
    assert torch.equal(sd[probe], fake[probe])

    # output shapes at a reduced input size (64x48 is not a multiple of 32 either)
    model.eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, *size))
    out = out if isinstance(out, tuple) else (out,)
    assert [tuple(o.shape) for o in out] == out_shapes
    assert all(torch.isfinite(o).all() for o in out)


# --------------------------------------------------------------------------
# AdaptBlock: offset layout
# --------------------------------------------------------------------------
def _block(seed=0, identity_init=False):
    torch.manual_seed(seed)
    blk = AdaptBlock(15, 15, identity_init=identity_init)
    with torch.no_grad():
        blk.bn.weight.uniform_(0.5, 1.5)
        blk.bn.bias.normal_()
        blk.bn.running_mean.normal_()
        blk.bn.running_var.uniform_(0.5, 2.0)
    return blk.eval()


def _set_affine(blk, m, t=(0.0, 0.0)):
    """Make the block predict the constant matrix ``m`` (row-major, (y, x)) and translation ``t``."""
    with torch.no_grad():
        blk.transform_matrix_conv.weight.zero_()
        blk.transform_matrix_conv.bias.copy_(torch.tensor(m, dtype=torch.float32))
        blk.translation_conv.weight.zero_()
        blk.translation_conv.bias.copy_(torch.tensor(t, dtype=torch.float32))


def _tail(blk, conv_out, x):
    """The block after its convolution: BN, residual add, ReLU."""
    return F.relu(blk.bn(conv_out) + x)


def test_adapt_block_identity_matrix_is_plain_conv():
    blk = _block(identity_init=True)
    x = torch.randn(2, 15, 9, 11)
    w = blk.adapt_conv.weight
    assert torch.equal(blk.offsets(x), torch.zeros(2, 18, 9, 11))     # M = I, t = 0 -> offset exactly 0
    with torch.no_grad():
        expected = _tail(blk, F.conv2d(x, w, padding=1), x)
        torch.testing.assert_close(blk(x), expected, atol=1e-5, rtol=1e-5)
        # the same with a learnt-looking identity on a reference-initialised block
        ref = _block(identity_init=False)
        _set_affine(ref, (1.0, 0.0, 0.0, 1.0))
        torch.testing.assert_close(ref(x), _tail(ref, F.conv2d(x, ref.adapt_conv.weight, padding=1), x),
                                   atol=1e-5, rtol=1e-5)


def test_adapt_block_reference_init_collapses_to_centre():
    # Reference init (both offset convs zero): M = 0, so offset = -R and all
    # 9 taps sample the centre pixel. The block is a 1x1 conv with the tap-summed kernel.
    blk = _block(identity_init=False)
    assert torch.count_nonzero(blk.transform_matrix_conv.weight) == 0
    assert torch.count_nonzero(blk.translation_conv.bias) == 0
    x = torch.randn(1, 15, 8, 8)
    r = blk.regular_matrix
    expected_offsets = (-r.t()).reshape(18)[None, :, None, None].expand(1, 18, 8, 8)
    torch.testing.assert_close(blk.offsets(x), expected_offsets)
    w1 = blk.adapt_conv.weight.sum(dim=(2, 3), keepdim=True)
    with torch.no_grad():
        torch.testing.assert_close(blk(x), _tail(blk, F.conv2d(x, w1), x), atol=1e-5, rtol=1e-5)


def test_adapt_block_layout_is_dy_dx_per_tap():
    # M = diag(1, -1) mirrors the taps' x coordinate. The result is a plain
    # conv with the kernel flipped along W. This holds only if channel 2k is
    # dy, channel 2k+1 is dx, and regular_matrix row 0 is y.
    blk = _block(1)
    _set_affine(blk, (1.0, 0.0, 0.0, -1.0))
    x = torch.randn(1, 15, 7, 10)
    w = blk.adapt_conv.weight
    with torch.no_grad():
        torch.testing.assert_close(blk(x), _tail(blk, F.conv2d(x, w.flip(-1), padding=1), x),
                                   atol=1e-5, rtol=1e-5)
        # translation channel 0 is ty: t = (1, 0) samples one row lower
        _set_affine(blk, (1.0, 0.0, 0.0, 1.0), t=(1.0, 0.0))
        shifted = F.conv2d(F.pad(x, (1, 1, 0, 2)), w)       # out[y, x] = sum w[a, b] x[y + a, x + b - 1]
        torch.testing.assert_close(blk(x), _tail(blk, shifted, x), atol=1e-5, rtol=1e-5)


# --------------------------------------------------------------------------
# Rescore net
# --------------------------------------------------------------------------
def test_rescore_net_and_features():
    net = build_model("dekr_rescore", 17)
    assert sum(p.numel() for p in net.parameters()) == 85_249
    assert net.l1.in_features == 74
    assert [k for k in net.state_dict()] == [f"l{i}.{p}" for i in (1, 2, 3) for p in ("weight", "bias")]

    poses = torch.zeros(2, 17, 3)
    poses[:, :, 2] = torch.linspace(0, 1, 17)
    # pose 0: shoulders (5, 6) at y=0, hips (11, 12) at y=40 -> torso sides 40 long
    poses[0, 5, :2] = torch.tensor([0.0, 0.0])
    poses[0, 6, :2] = torch.tensor([20.0, 0.0])
    poses[0, 11, :2] = torch.tensor([0.0, 40.0])
    poses[0, 12, :2] = torch.tensor([20.0, 40.0])
    # pose 1: all joints at the origin -> normaliser clamped to 1
    feats = rescore_features(poses)
    assert feats.shape == (2, 74) and feats.dtype == torch.float32
    L = len(DEKR_COCO_LIMBS)
    assert DEKR_COCO_LIMBS[9] == (5, 11) and DEKR_COCO_LIMBS[11] == (6, 12)
    vec, length, vis = feats[0, :2 * L].view(L, 2), feats[0, 2 * L:3 * L], feats[0, 3 * L:]
    torch.testing.assert_close(vec[9], torch.tensor([0.0, -1.0]))       # (p5 - p11) / 40
    torch.testing.assert_close(vec[7], torch.tensor([-0.5, 0.0]))       # (p5 - p6) / 40
    torch.testing.assert_close(length[9], torch.tensor(1.0))
    torch.testing.assert_close(vis, poses[0, :, 2])
    assert torch.count_nonzero(feats[1, :3 * L]) == 0
    assert net.rescore(poses.numpy()).shape == (2,)

    # another skeleton: 3 * len(limbs) + K inputs
    from animalpose.keypoints import get_spec
    spec = get_spec("tigdog18")
    net18 = build_model("dekr_rescore", 18, skeleton="tigdog18")
    assert net18.l1.in_features == 3 * len(spec.skeleton) + 18
    assert net18.rescore(torch.rand(3, 18, 3) * 50).shape == (3,)


# --------------------------------------------------------------------------
# ImageNet backbone initialisation
# --------------------------------------------------------------------------
def test_pretrained_backbone_loads_matching_keys(tmp_path):
    torch.manual_seed(0)
    src = build_model("hrnet_w32", 17)
    imagenet = {"module." + k: v.clone() + 1.0 for k, v in src.state_dict().items()
                if k.split(".")[0] in HRNET_PRETRAINED_LAYERS}
    imagenet["module.classifier.weight"] = torch.zeros(1000, 2048)     # not selected
    imagenet["module.stage4.2.fuse_layers.1.0.0.0.weight"] = torch.zeros(64, 32, 3, 3)  # not in model
    imagenet["module.conv1.weight"] = torch.zeros(64, 3, 7, 7)         # shape mismatch
    path = tmp_path / "hrnet_w32_imagenet.pth"
    torch.save(imagenet, path)

    model = build_model("hrnet_w32", 17, pretrained_backbone=str(path))
    rep = model.pretrained_report
    assert rep["not_selected"] == ["classifier.weight"]
    assert rep["not_in_model"] == ["stage4.2.fuse_layers.1.0.0.0.weight"]
    assert len(rep["shape_mismatch"]) == 1 and rep["shape_mismatch"][0].startswith("conv1.weight")
    assert "final_layer.weight" in rep["missing"] and "conv1.weight" in rep["missing"]
    sd = model.state_dict()
    assert torch.equal(sd["stage4.0.branches.3.0.conv1.weight"],
                       imagenet["module.stage4.0.branches.3.0.conv1.weight"])
    assert len(rep["loaded"]) == len(sd) - 2 - 1     # all but final_layer.{weight,bias} and conv1
