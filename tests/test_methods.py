"""The method registry and the one training loop: a new method is one file plus one registry line.

``docs/examples/entropy_method.py`` (source loss + gamma * target heatmap entropy) is registered
here the way a user adds a method, then trained, resumed and checked through ``animalpose adapt``.
"""
import importlib.util
import math
import os
import re
import subprocess
import sys

import pytest
import torch

from animalpose.cli import main
from animalpose.engine.methods import get_method, list_methods

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "docs", "examples", "entropy_method.py")
SMALL = ["--set", "model.options={stacks: 1, blocks: 1, features: 16}", "--set", "codec.input_size=[64, 64]",
         "--set", "codec.heatmap_size=[16, 16]", "--set", "train.batch_size=4", "--set", "train_data.limit=8",
         "--set", "val_data.limit=8", "--set", "train.val_every=0"]


@pytest.fixture(scope="module")
def entropy():
    spec = importlib.util.spec_from_file_location("entropy_method_example", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)                      # registering = importing the file
    return mod


@pytest.fixture(scope="module")
def source(animal_data, tmp_path_factory):
    root, _ = animal_data
    out = str(tmp_path_factory.mktemp("src"))
    assert main(["pretrain", "--config", "demo_synthetic", "--set", f"train_data.root={root}",
                 "--set", f"val_data.root={root}", *SMALL, "--set", "train.epochs=1", "--out", out,
                 "--workers", "0", "--quiet", "--device", "cpu"]) == 0
    return root, os.path.join(out, "last.pt")


def _adapt(root, ckpt, out, *extra):
    return main(["adapt", "--method", "entropy", "--source", ckpt, "--config", "demo_synthetic",
                 "--set", f"train_data.root={root}", "--set", f"val_data.root={root}", *SMALL,
                 "--set", "method={target_data: {dataset: tigdog, root: " + root + ", split: train, limit: 8}}",
                 "--set", "method.gamma=1.0", "--out", out, "--workers", "0", "--quiet", "--device", "cpu", *extra])


def test_builtin_methods_are_registered():
    from animalpose.commands.adapt import load_methods
    load_methods()
    assert {"ccssl", "wscda", "pplo"} <= set(list_methods())
    assert get_method("ccssl").flags and get_method("wscda").source == "optional"
    with pytest.raises(ValueError, match="unknown adaptation method 'nope'"):
        get_method("nope")


def test_entropy_matches_the_formula(entropy):
    flat = torch.zeros(1, 1, 4, 4)                       # uniform over 16 pixels: log 16
    assert float(entropy.heatmap_entropy(flat)) == pytest.approx(math.log(16), rel=1e-6)
    peaked = torch.full((1, 1, 4, 4), -1e4)
    peaked[0, 0, 1, 2] = 0.0                             # one pixel: 0
    assert float(entropy.heatmap_entropy(peaked)) == pytest.approx(0.0, abs=1e-6)


def test_a_one_file_method_trains_and_lowers_the_target_entropy(entropy, source, tmp_path):
    root, ckpt = source
    assert "entropy" in list_methods()
    out = str(tmp_path / "run")
    assert _adapt(root, ckpt, out, "--set", "train.epochs=3") == 0
    from animalpose.engine.data import build_source
    from animalpose.engine.inference import load_trained
    before, after = load_trained(ckpt, torch.device("cpu")), load_trained(os.path.join(out, "last.pt"),
                                                                          torch.device("cpu"))
    cfg = after.cfg
    assert cfg.method["gamma"] == 1.0
    from animalpose.engine.config import AugmentConfig
    from animalpose.engine.data import TopDownDataset
    from animalpose.engine.evaluator import heatmaps_of
    target = entropy.method_section(cfg, entropy.EntropyConfig).target_data
    ds = TopDownDataset(build_source(target), after.spec, after.codec, AugmentConfig(recipe="none"),
                        after.normalize)
    x = torch.stack([ds[i]["image"] for i in range(len(ds))])
    with torch.no_grad():
        h0 = float(entropy.heatmap_entropy(heatmaps_of(before.model(x))))
        h1 = float(entropy.heatmap_entropy(heatmaps_of(after.model(x))))
    assert h1 < h0


def test_the_one_file_method_resumes_bit_for_bit(entropy, source, tmp_path):
    root, ckpt = source
    from resume_helpers import assert_same_tensors, full_and_resumed
    a, b, _, _ = full_and_resumed(lambda out, *extra: _adapt(root, ckpt, out, *extra), tmp_path)
    assert_same_tensors(a["state_dict"], b["state_dict"])


def test_a_bad_method_section_is_one_line(entropy, source, tmp_path, capsys):
    root, ckpt = source
    capsys.readouterr()
    assert _adapt(root, ckpt, str(tmp_path / "bad"), "--set", "method.gama=2") != 0
    assert "unknown key 'method.gama'" in capsys.readouterr().err


def test_one_epoch_loop_in_the_codebase():
    """grep proves it: only the engine's Trainer iterates steps of an epoch."""
    loops = []
    for pkg in ("animalpose", "ccssl", "wscda"):
        for dirpath, _, files in os.walk(os.path.join(ROOT, pkg)):
            for f in files:
                if f.endswith(".py"):
                    text = open(os.path.join(dirpath, f)).read()
                    if re.search(r"self\.optimizer_step\(", text) and "def optimizer_step" not in text:
                        loops.append(os.path.relpath(os.path.join(dirpath, f), ROOT))
                    if re.search(r"def train_epoch\(", text):
                        loops.append(os.path.relpath(os.path.join(dirpath, f), ROOT))
    assert loops == [os.path.join("animalpose", "engine", "trainer.py")]


def test_import_layers_hold():
    exe = os.path.join(os.path.dirname(sys.executable), "lint-imports")
    if not os.path.isfile(exe):
        pytest.skip("import-linter is not installed (pip install -e .[dev])")
    r = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-2000:]
    assert "Contracts: 2 kept, 0 broken." in r.stdout
