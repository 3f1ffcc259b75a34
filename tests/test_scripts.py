"""scripts/ccssl_pipeline.sh end to end on tiny data (tiny model, one epoch per stage)."""
import json
import os
import subprocess
import sys

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
