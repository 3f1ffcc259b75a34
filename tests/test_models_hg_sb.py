"""Stacked hourglass and SimpleBaseline: shapes, exact param counts, official state_dict layout,
strict checkpoint loading (bearpaw / microsoft formats) and the save -> load round trip."""
import os

import pytest
import torch

from animalpose.models import build_model, list_models, load_checkpoint, save_checkpoint
from animalpose.models.checkpoint import CheckpointFormatError, CheckpointMismatchError, read_checkpoint

SB_PARAMS = {50: 33_999_697, 101: 52_991_825, 152: 68_635_473}


def n_params(model):
    return sum(p.numel() for p in model.parameters())


@pytest.fixture(scope="module")
def reference(checkpoint_keys):
    data = checkpoint_keys

    def get(model_id):
        entry = data[model_id]
        sd = entry["state_dict"]
        pairs = sd.items() if isinstance(sd, dict) else sd
        return {k: tuple(shape) for k, shape in pairs}, entry.get("params")
    return get


_CACHE = {}


def sb(depth):
    """SimpleBaseline-ResNet``depth`` with 17 joints, built once per module (R152 takes ~1 s)."""
    if depth not in _CACHE:
        torch.manual_seed(0)
        _CACHE[depth] = build_model(f"simplebaseline_res{depth}", 17).eval()
    return _CACHE[depth]


def assert_layout(model, expected):
    """Model state_dict keys and shapes equal the official list (num_batches_tracked optional there)."""
    has_nbt = any(k.endswith("num_batches_tracked") for k in expected)
    got = {k: tuple(v.shape) for k, v in model.state_dict().items()
           if has_nbt or not k.endswith("num_batches_tracked")}
    missing, extra = sorted(set(expected) - set(got)), sorted(set(got) - set(expected))
    assert not missing and not extra, f"missing {missing[:5]} extra {extra[:5]}"
    wrong = [(k, got[k], expected[k]) for k in expected if got[k] != expected[k]]
    assert not wrong, wrong[:5]


def random_state(expected, seed=0):
    g = torch.Generator().manual_seed(seed)
    out = {}
    for k, shape in expected.items():
        if k.endswith("num_batches_tracked"):
            out[k] = torch.tensor(123, dtype=torch.long)
        elif k.endswith("running_var"):
            out[k] = torch.rand(shape, generator=g) + 0.5
        else:
            out[k] = torch.randn(shape, generator=g) * 0.05
    return out


# ----------------------------------------------------------------------------------- registry / shapes

def test_registered():
    names = set(list_models())
    assert {"hourglass", "simplebaseline_res50", "simplebaseline_res101", "simplebaseline_res152"} <= names


def test_hourglass_outputs_per_stack_heatmaps():
    torch.manual_seed(0)
    model = build_model("hourglass", 18).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 64, 64))
    assert isinstance(out, list) and len(out) == 4
    assert all(o.shape == (2, 18, 16, 16) for o in out)
    two = build_model("hourglass", 16, stacks=2).eval()
    with torch.no_grad():  # 128x96 (DARK's COCO size) works: odd sizes in the hourglass are handled
        out = two(torch.randn(1, 3, 128, 96))
    assert len(out) == 2 and out[-1].shape == (1, 16, 32, 24)


@pytest.mark.parametrize("stacks,joints,params", [(4, 18, 13_022_408), (4, 17, 13_020_612), (8, 16, 25_594_624),
                                                  (2, 16, 6_730_912), (4, 16, 13_018_816)])
def test_hourglass_param_counts(stacks, joints, params):
    assert n_params(build_model("hourglass", joints, stacks=stacks, blocks=1, features=128)) == params


@pytest.mark.parametrize("depth", [50, 101, 152])
def test_simplebaseline_param_counts(depth):
    assert n_params(sb(depth)) == SB_PARAMS[depth]


def test_simplebaseline_output_and_init():
    model = sb(50)
    with torch.no_grad():
        out = model(torch.randn(1, 3, 128, 96))
    assert out.shape == (1, 17, 32, 24)
    # reference init_weights: deconv / final weights ~ N(0, 0.001), BN 1/0, final bias 0
    fresh = build_model("simplebaseline_res50", 17)
    assert 0.0005 < fresh.deconv_layers[0].weight.std().item() < 0.002
    assert 0.0005 < fresh.final_layer.weight.std().item() < 0.002
    assert torch.all(fresh.final_layer.bias == 0) and torch.all(fresh.deconv_layers[1].weight == 1)
    assert fresh.deconv_layers[0].bias is None


# ----------------------------------------------------------------------------------- official layout

def test_hourglass_matches_official_keys(reference):
    expected, params = reference("hourglass_s4_b1_18j")
    model = build_model("hourglass", 18)
    assert_layout(model, expected)
    assert n_params(model) == params


@pytest.mark.parametrize("depth", [50, 101, 152])
def test_simplebaseline_matches_official_keys(reference, depth):
    expected, params = reference(f"simplebaseline_res{depth}_17j")
    assert_layout(sb(depth), expected)
    assert n_params(sb(depth)) == params


def test_bearpaw_checkpoint_loads_strictly(reference, tmp_path):
    expected, _ = reference("hourglass_s4_b1_18j")
    state = random_state(expected)
    path = tmp_path / "model_best.pth.tar"
    torch.save({"epoch": 150, "arch": "hg", "state_dict": {"module." + k: v for k, v in state.items()},
                "best_acc": 0.5, "optimizer": {"state": {}, "param_groups": [{"lr": 2.5e-4}]}}, path)
    model, meta = load_checkpoint(build_model("hourglass", 18), str(path), return_meta=True)
    assert meta["arch"] == "hg" and meta["epoch"] == 150 and "optimizer" not in meta
    for k, v in model.state_dict().items():
        assert torch.equal(v, state[k]), k


def test_microsoft_plain_state_dict_loads_without_num_batches_tracked(reference, tmp_path):
    expected, _ = reference("simplebaseline_res50_17j")
    state = {k: v for k, v in random_state(expected, seed=1).items() if not k.endswith("num_batches_tracked")}
    path = tmp_path / "pose_resnet_50_256x192.pth.tar"
    torch.save(state, path)
    model = build_model("simplebaseline_res50", 17)
    before = model.bn1.num_batches_tracked.clone()
    load_checkpoint(model, path)
    assert torch.equal(model.final_layer.weight, state["final_layer.weight"])
    assert torch.equal(model.layer3[5].conv2.weight,
                       state["layer3.5.conv2.weight"])
    assert torch.equal(model.bn1.num_batches_tracked, before)  # kept the model's own value
    # extra num_batches_tracked entries the model does not know are ignored too
    state2 = dict(state, **{"deconv_layers.2.num_batches_tracked": torch.tensor(1)})
    load_checkpoint(model, {"model": state2})


@pytest.mark.parametrize("kind", ["missing", "shape", "unexpected"])
def test_mismatch_names_the_keys_and_loads_nothing(tmp_path, kind):
    torch.manual_seed(0)
    model = build_model("hourglass", 18, stacks=2)
    state = {k: v.clone() + 1 if v.is_floating_point() else v.clone() for k, v in model.state_dict().items()}
    if kind == "missing":
        del state["hg.1.hg.2.1.0.conv2.weight"]
        words = ["missing", "hg.1.hg.2.1.0.conv2.weight"]
    elif kind == "shape":
        state["score.1.weight"] = torch.zeros(17, 256, 1, 1)
        words = ["shape", "score.1.weight", "[17, 256, 1, 1]", "[18, 256, 1, 1]"]
    else:
        state["score_.1.weight"] = torch.zeros(256, 18, 1, 1)
        words = ["unexpected", "score_.1.weight"]
    path = tmp_path / "bad.pth"
    torch.save({"state_dict": state}, path)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(CheckpointMismatchError) as err:
        load_checkpoint(model, path)
    msg = str(err.value)
    assert isinstance(err.value, ValueError) and "bad.pth" in msg
    for w in words:
        assert w in msg, (w, msg)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # nothing loaded
    with pytest.warns(UserWarning):
        load_checkpoint(model, path, strict=False)
    assert torch.equal(model.conv1.weight, before["conv1.weight"] + 1)


def test_error_lists_are_truncated(tmp_path):
    model = build_model("hourglass", 18, stacks=2)
    path = tmp_path / "other.pth"
    torch.save({f"backbone.{k}": v for k, v in model.state_dict().items()}, path)
    with pytest.raises(CheckpointMismatchError, match=r"more\)") as err:
        load_checkpoint(model, path)
    assert len(str(err.value)) < 2000


def test_missing_file_and_unsafe_pickle(tmp_path):
    model = build_model("hourglass", 18, stacks=2)
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        load_checkpoint(model, tmp_path / "nope.pth")

    import argparse
    path = tmp_path / "pickled.pth.tar"  # an arbitrary object inside: refused by weights_only=True
    torch.save({"state_dict": model.state_dict(), "args": argparse.Namespace(lr=1e-3)}, path)
    with pytest.raises(CheckpointFormatError, match="pickled.pth.tar") as err:
        load_checkpoint(model, path)
    assert "weights_only" in str(err.value) and isinstance(err.value, ValueError)
    load_checkpoint(model, path, weights_only=False)  # explicit opt-in for trusted files
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointFormatError, match="junk.pth.* is not a readable torch file"):
        read_checkpoint(tmp_path / "junk.pth")


def test_save_load_round_trip_identical_outputs(tmp_path):
    torch.manual_seed(0)
    a = build_model("hourglass", 18, stacks=2)
    a.train()
    with torch.no_grad():  # move BN running statistics away from their init
        a(torch.randn(2, 3, 64, 64))
    a.eval()
    path = tmp_path / "sub" / "ckpt.pth"
    import numpy as np
    save_checkpoint(path, a, epoch=3, arch="hourglass", best_acc=np.float64(0.25), options={"stacks": 2})
    assert sorted(os.listdir(path.parent)) == ["ckpt.pth"]  # no temporary file left behind
    raw = torch.load(path, map_location="cpu", weights_only=True)
    assert raw["epoch"] == 3 and raw["best_acc"] == 0.25 and set(raw) == {"state_dict", "epoch", "arch",
                                                                          "best_acc", "options"}
    torch.manual_seed(1)
    b = load_checkpoint(build_model("hourglass", 18, stacks=2), path).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        for ya, yb in zip(a(x), b(x)):
            assert torch.equal(ya, yb)
    with pytest.raises(TypeError, match="options"):
        save_checkpoint(tmp_path / "x.pth", a, options=object())
    assert not (tmp_path / "x.pth").exists()


def test_channels_last_model_saves_standard_layout(tmp_path):
    """Training in NHWC (``train.channels_last``) changes neither the outputs nor the saved layout."""
    torch.manual_seed(0)
    a = build_model("hourglass", 18, stacks=1, features=32).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        ref = a(x)[-1]
        a.to(memory_format=torch.channels_last)
        assert a.state_dict()["conv1.weight"].is_contiguous(memory_format=torch.channels_last)
        assert torch.allclose(a(x)[-1], ref, atol=1e-5)
    save_checkpoint(tmp_path / "cl.pth", a)
    raw = torch.load(tmp_path / "cl.pth", map_location="cpu", weights_only=True)["state_dict"]
    assert all(v.is_contiguous() for v in raw.values())
    b = load_checkpoint(build_model("hourglass", 18, stacks=1, features=32), tmp_path / "cl.pth").eval()
    with torch.no_grad():
        assert torch.allclose(b(x)[-1], ref, atol=1e-5)


def test_pretrained_backbone_loads_imagenet_layout(tmp_path):
    import torchvision
    torch.manual_seed(0)
    resnet = torchvision.models.resnet50(weights=None)
    path = tmp_path / "resnet50-imagenet.pth"
    torch.save(resnet.state_dict(), path)  # includes fc.* (ignored)
    model = build_model("simplebaseline_res50", 17, pretrained_backbone=str(path))
    assert torch.equal(model.layer4[2].conv3.weight, resnet.layer4[2].conv3.weight)
    assert torch.equal(model.bn1.running_var, resnet.bn1.running_var)
    broken = {k: v for k, v in resnet.state_dict().items() if not k.startswith("layer4.2.")}
    torch.save(broken, path)
    with pytest.raises(CheckpointMismatchError, match="layer4.2"):
        build_model("simplebaseline_res50", 17, pretrained_backbone=str(path))


def test_unknown_model_option_is_a_clear_error():
    with pytest.raises(ValueError, match=r"model 'hourglass': .*'stack'.*options: stacks, blocks, features"):
        build_model("hourglass", 18, stack=2)
