import hashlib
import json
import os
import subprocess
import sys

import pytest

from animalpose.cli import build_parser, main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(*args):
    return subprocess.run([sys.executable, "-m", "animalpose", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def _tree_digest(folder):
    h = hashlib.sha256()
    for dirpath, _, files in sorted(os.walk(folder)):
        for f in sorted(files):
            if f == "MANIFEST.json":
                continue
            with open(os.path.join(dirpath, f), "rb") as fh:
                h.update(os.path.relpath(os.path.join(dirpath, f), folder).encode() + fh.read())
    return h.hexdigest()


def test_help_lists_commands_and_every_generate_option():
    r = _run("--help")
    assert r.returncode == 0
    for cmd in ("demo", "generate", "summary", "specs"):
        assert cmd in r.stdout
    sub = build_parser()._subparsers._group_actions[0].choices["generate"]
    opts = [o for a in sub._actions for o in a.option_strings if o not in ("-h", "--help")]
    r = _run("generate", "--help")
    assert r.returncode == 0
    for o in opts:
        assert o in r.stdout
    for a in sub._actions:
        if a.option_strings and a.dest != "help":
            assert a.help and len(a.help) > 10, f"option {a.option_strings} has no explanation"


def test_generate_is_deterministic_whatever_the_worker_count(tmp_path):
    parts = ["--only", "synthetic", "tigdog", "animalpose"]
    a = main(["generate", "--preset", "tiny", "--out", str(tmp_path / "a"), "--seed", "3", "--workers", "1",
              "--quiet", *parts])
    b = main(["generate", "--preset", "tiny", "--out", str(tmp_path / "b"), "--seed", "3", "--workers", "2",
              "--quiet", *parts])
    assert a == b == 0
    assert _tree_digest(tmp_path / "a") == _tree_digest(tmp_path / "b")
    m = json.loads((tmp_path / "a" / "MANIFEST.json").read_text())
    assert m["preset"]["name"] == "tiny" and m["seed"] == 3
    # the official-format split files index labelled frames of disjoint videos
    import numpy as np
    tr = np.load(tmp_path / "a" / "real_animal" / "horse" / "train_idxs_by_video.npy")
    va = np.load(tmp_path / "a" / "real_animal" / "horse" / "valid_idxs_by_video.npy")
    assert len(tr) and len(va) and not set(tr) & set(va)
    from datasets.tigdog import TigDog
    official = TigDog(str(tmp_path / "a"), "horse", "test", split_dir=str(tmp_path / "a" / "real_animal" / "horse"))
    default = TigDog(str(tmp_path / "a"), "horse", "test")
    assert [s.image_path for s in map(official.annotation, range(len(official)))] == \
           [s.image_path for s in map(default.annotation, range(len(default)))]


def test_summary_reads_generated_data(tmp_path, capsys):
    assert main(["generate", "--preset", "tiny", "--out", str(tmp_path / "d"), "--quiet",
                 "--only", "synthetic", "tigdog", "animalpose"]) == 0
    assert main(["summary", "--data", str(tmp_path / "d"), "--out", str(tmp_path / "s")]) == 0
    s = json.loads((tmp_path / "s" / "summary.json").read_text())
    assert s["synthetic_animal/horse/train"]["instances"] + s["synthetic_animal/horse/valid"]["instances"] == 12
    assert s["tigdog/tiger/test"]["videos"] == 1
    assert set(s["animalpose/all"]["categories"]) == {"dog", "cat", "sheep", "horse", "cow"}
    assert (tmp_path / "s" / "preview.png").stat().st_size > 1000
    assert "| tigdog/horse/train | tigdog | tigdog18 |" in capsys.readouterr().out
    # TigDog is counted with the split training uses (the official split files under real_animal/)
    from animalpose.engine.config import DataConfig
    from animalpose.engine.data import build_source
    for split in ("train", "test"):
        src = build_source(DataConfig(dataset="tigdog", root=str(tmp_path / "d"), animal="horse", split=split))
        assert s[f"tigdog/horse/{split}"]["instances"] == len(src)


def test_bad_input_exits_non_zero_with_one_line(tmp_path):
    r = _run("generate", "--preset", "huge", "--out", str(tmp_path))
    assert r.returncode != 0 and "invalid choice: 'huge'" in r.stderr
    r = _run("summary", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "o"))
    assert r.returncode == 1
    assert r.stderr.strip().count("\n") == 0 and "missing: data folder not found" in r.stderr
    r = _run("generate", "--out", str(tmp_path / "x"), "--workers", "0")
    assert r.returncode == 1 and "--workers must be at least 1" in r.stderr
    r = _run("specs", "nope")
    assert r.returncode == 1 and "unknown keypoint spec 'nope'" in r.stderr


def test_specs_command_prints_the_tigdog_table(capsys):
    assert main(["specs"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines() if "joints" in line]
    assert listed == ["animalpose20", "ap10k17", "coco17", "crowdpose14", "horse10_22", "tigdog14", "tigdog18"]
    assert main(["specs", "tigdog18"]) == 0
    out = capsys.readouterr().out
    assert "  7  hip              hip              hip" in out
    assert main(["specs", "coco17_to_animalpose20"]) == 0
    assert "left_wrist" in capsys.readouterr().out


SMALL = ["--set", "model.options={stacks: 1, blocks: 1, features: 16}", "--set", "codec.input_size=[64, 64]",
         "--set", "codec.heatmap_size=[16, 16]", "--set", "train.batch_size=4", "--set", "train_data.limit=8",
         "--set", "val_data.limit=12", "--set", "ccssl.target_data.limit=8"]


def test_demo_runs_on_tiny_preset_and_writes_report(tmp_path):
    out = tmp_path / "demo"
    r = _run("demo", "--preset", "tiny", "--out", str(out), "--quiet", "--epochs", "1", "--workers", "0",
             "--ablation", "no_temporal", "--ablation", "no_target", *SMALL)
    assert r.returncode == 0, r.stderr
    doc = json.loads((out / "report.json").read_text())
    assert list(doc["methods"]) == ["source_only", "ccssl", "ccssl_no_temporal", "ccssl_no_target", "oracle"]
    m = {k: v["mean"] for k, v in doc["methods"].items()}
    if m["oracle"] > m["source_only"]:
        assert doc["gap_closed"]["ccssl"] == pytest.approx(
            (m["ccssl"] - m["source_only"]) / (m["oracle"] - m["source_only"]), abs=1e-4)
    cfg = (out / "runs" / "ccssl_no_temporal" / "config.yaml").read_text()
    assert "temporal: false" in cfg
    assert "gamma: 0" in (out / "runs" / "ccssl_no_target" / "config.yaml").read_text()
    joints = ["l_eye", "r_eye", "chin", "l_front_hoof", "r_front_hoof", "l_back_hoof", "r_back_hoof", "hip",
              "l_front_knee", "r_front_knee", "l_back_knee", "r_back_knee", "l_shoulder", "r_shoulder",
              "l_front_elbow", "r_front_elbow", "l_back_elbow", "r_back_elbow"]
    for m in doc["methods"].values():
        assert list(m["per_joint"]) == joints
        assert set(m["groups"]) == {"eye", "chin", "shoulder", "hip", "elbow", "knee", "hoof"}
        assert 0.0 <= m["mean"] <= 100.0
    for f in ("report.md", "report.csv", "report.png", "runs/source_only/best.pt", "runs/oracle/last.pt",
              "runs/ccssl/ssl_labels/round_000.npz", "data/MANIFEST.json"):
        assert (out / f).exists(), f
    assert "Hooves" in r.stdout and "l_front_hoof" in r.stdout
    # every CC-SSL run's pseudo-label rounds are scored against the hidden target labels
    labels = doc["pseudo_labels"]
    assert list(labels) == ["ccssl", "ccssl_no_temporal", "ccssl_no_target"]
    assert [row["round"] for row in labels["ccssl"]] == ["round_000"] and labels["ccssl"][0]["epoch"] == 0
    assert all(row["replaced"] == 0 for row in labels["ccssl_no_temporal"])   # no flow, nothing replaced
    assert 0.0 <= labels["ccssl"][0]["correct"] <= 100.0 and 0.0 < labels["ccssl"][0]["kept"] <= 100.0
    assert "Pseudo-labels of ccssl_no_target" in (out / "report.md").read_text()
    assert (out / "runs" / "ccssl" / "label_quality" / "round_000.png").is_file()
    gap = doc["domain_gap"]
    assert set(gap) == {"metric", "source_only", "oracle"}
    for model in ("source_only", "oracle"):
        assert set(gap[model]) == {"synthetic_valid", "target_test"}
        assert all(0.0 <= v <= 100.0 for v in gap[model].values())
    assert "## Domain gap" in (out / "report.md").read_text()
    r2 = _run("demo", "--preset", "tiny", "--out", str(out), "--quiet", "--epochs", "1", "--workers", "0", *SMALL,
              "--set", "train_data.limit=4", "--set", "val_data.limit=4")
    assert r2.returncode == 0, r2.stderr
    assert "reusing tiny data" in r2.stdout

def test_device_defaults_to_the_config():
    """--device left out keeps the config's train.device; given, it overrides it."""
    import argparse
    from animalpose.commands._common import runtime_overrides
    from animalpose.engine.config import load_experiment
    none = argparse.Namespace(device=None, seed=None, workers=None)
    assert runtime_overrides(none) == []
    cfg = load_experiment("demo_synthetic", ["train.device=cpu"] + runtime_overrides(none))
    assert cfg.train.device == "cpu"
    given = argparse.Namespace(device="auto", seed=3, workers=0)
    assert runtime_overrides(given) == ["train.device=auto", "train.seed=3", "train.workers=0"]
