"""scripts/ccssl_pipeline.sh end to end on tiny data (tiny model, one epoch per stage)."""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_ccssl_pipeline_writes_one_comparison_report(animal_data, tmp_path):
    root, _ = animal_data
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
               ANIMALPOSE=f"{sys.executable} -m animalpose", CCSSL_R_EPOCHS="1")
    small = ["--quiet", "--workers", "0", "--set", "model.options={stacks: 1, blocks: 1, features: 16}",
             "--set", "codec.input_size=[64, 64]", "--set", "codec.heatmap_size=[16, 16]", "--set", "train.epochs=1",
             "--set", "train.batch_size=4", "--set", "train_data.limit=8", "--set", "val_data.limit=8",
             "--set", "ccssl.target_data.limit=8"]
    r = subprocess.run(["bash", os.path.join(ROOT, "scripts", "ccssl_pipeline.sh"), "horse", root, str(tmp_path),
                        "demo", *small], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    doc = json.loads((tmp_path / "report" / "report.json").read_text())
    assert list(doc["methods"]) == ["source_only", "ccssl", "ccssl_r", "oracle"]
    assert (tmp_path / "ccssl" / "ssl_labels" / "round_000.npz").is_file()
    refined = json.loads((tmp_path / "ccssl" / "refined" / "history.json").read_text())
    assert len(refined) == 1   # CCSSL_R_EPOCHS=1 epoch of fine-tuning on the target labels
    bad = subprocess.run(["bash", os.path.join(ROOT, "scripts", "ccssl_pipeline.sh"), "tiger", root, str(tmp_path),
                          "demo"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert bad.returncode == 2 and "the demo configs are for horse" in bad.stderr


def _env():
    return dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
                PYTHON=sys.executable, REPRODUCE_WORLD_SIZE="1")


@pytest.mark.parametrize("args", [("reproduce_ccssl.sh", "horse"), ("reproduce_ccssl.sh", "tiger"),
                                  ("reproduce_coco.sh", "hrnet_w32_coco_256x192"),
                                  ("reproduce_coco.sh", "simplebaseline_res50_coco_256x192"),
                                  ("reproduce_coco.sh", "dekr_w32_coco_512"),
                                  ("reproduce_coco.sh", "dekr_w48_crowdpose_640"),
                                  ("reproduce_coco.sh", "hrnet_w32_coco_256x192_dark"),
                                  ("reproduce_coco.sh", "hrnet_w32_coco_256x192_udp_combined")])
def test_dry_run_shows_no_difference_from_the_official_recipe(args):
    script, name = args
    r = subprocess.run(["bash", os.path.join(ROOT, "scripts", script), name, "DATA", "OUT", "--dry-run"], cwd=ROOT,
                       env=_env(), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "DIFFERENT" not in r.stdout and ", 0 different from the official recipe" in r.stdout
    assert "| optim.lr |" in r.stdout or "optim.lr" in r.stdout


def test_recipe_check_reports_a_difference():
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    from recipe_check import compare
    rows = compare("ccssl", "horse", ["optim.lr=1e-3"])
    bad = [(c, k, kit) for c, k, kit, _, _, same in rows if not same]
    assert bad == [("ccssl_synthetic_horse", "optim.lr", 1e-3), ("ccssl_adapt_horse", "optim.lr", 1e-3)]


def test_reproduce_ccssl_tiny_run(animal_data, tmp_path):
    root, _ = animal_data
    small = ["--quiet", "--workers", "0", "--set", "model.options={stacks: 1, blocks: 1, features: 16}",
             "--set", "codec.input_size=[64, 64]", "--set", "codec.heatmap_size=[16, 16]", "--set", "train.epochs=1",
             "--set", "train.batch_size=4", "--set", "train_data.limit=8", "--set", "val_data.limit=6"]
    r = subprocess.run(["bash", os.path.join(ROOT, "scripts", "reproduce_ccssl.sh"), "horse", root, str(tmp_path),
                        *small, "--set", "ccssl.target_data.limit=8"], cwd=ROOT, env=_env(), capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    doc = json.loads((tmp_path / "report" / "report.json").read_text())
    assert list(doc["methods"]) == ["source", "ccssl_last", "ccssl_best_on_test"]
    sel = json.loads((tmp_path / "ccssl" / "selection.json").read_text())
    assert sel["selected_on"] == "test" and "best_on_test" in sel


def test_reproduce_coco_tiny_run(tmp_path):
    from animalpose.cli import main
    data = str(tmp_path / "data")
    assert main(["generate", "--preset", "tiny", "--out", data, "--only", "coco", "--quiet"]) == 0
    small = ["--quiet", "--workers", "0", "--no-pretrained", "--set", "model.name=hrnet_lite",
             "--set", "model.options={}", "--set", "codec.input_size=[48, 64]", "--set", "codec.heatmap_size=[12, 16]",
             "--set", "train.epochs=1", "--set", "train.batch_size=4", "--set", "eval.batch_size=4"]
    r = subprocess.run(["bash", os.path.join(ROOT, "scripts", "reproduce_coco.sh"), "hrnet_w32_coco_256x192",
                        os.path.join(data, "coco"), str(tmp_path / "run"), *small], cwd=ROOT, env=_env(),
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    stats = json.loads((tmp_path / "run" / "test" / "coco_stats.json").read_text())
    assert len(next(iter(stats.values()))) == 10
