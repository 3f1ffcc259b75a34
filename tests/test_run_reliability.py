"""Runs that cannot lie (issue 20): non-finite values stop a run before anything is saved, one run
per folder with a lock, --resume refuses a changed config, crash leftovers are removed, errors from
data-loading workers and from bad settings end as one line naming the file or key."""
import json
import os
import shutil
import subprocess
import sys

import pytest
import torch

from animalpose.engine import run_folder
from animalpose.engine.configio import dump
from animalpose.engine.run_folder import RunFolderError
from animalpose.engine.trainer import Trainer, TrainingDiverged, config_changes, finite_model

from test_engine import _weights, tiny_cfg

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUIET = {"quiet": True, "log": lambda *_: None}


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "animalpose", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def _one_line(r):
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1, r.stderr
    return lines[0]


# ------------------------------------------------------------------ non-finite values
def _trained_one_epoch(root, out):
    tr = Trainer(tiny_cfg(root, **{"train.val_every": 0}), str(out), **QUIET)
    tr.train_epoch(0)
    tr._save(tr.last_path, 0, full=True)
    tr.start_epoch = 1
    return tr, _weights(tr.last_path)


def _unchanged(path, good):
    after = _weights(path)
    return all(torch.equal(good[k], after[k]) for k in good)


def test_non_finite_gradient_stops_before_the_step(animal_data, tmp_path):
    root, _ = animal_data
    tr, good = _trained_one_epoch(root, tmp_path / "run")
    first = next(tr.model.parameters())
    before = first.detach().clone()
    first.register_hook(lambda g: g * float("inf"))          # finite loss, infinite gradient
    with pytest.raises(TrainingDiverged, match=r"a gradient became non-finite at epoch 2 step 1.*last finite "
                                               r"checkpoint is .*last\.pt"):
        tr.fit()
    assert torch.equal(first.detach(), before)               # the optimiser never stepped
    assert _unchanged(tr.last_path, good)


def test_non_finite_weight_after_the_step_stops_and_is_never_saved(animal_data, tmp_path):
    root, _ = animal_data
    tr, good = _trained_one_epoch(root, tmp_path / "run")
    step = tr.optimizer.step

    def poisoned_step(*a, **k):                              # finite loss and gradients, a weight goes NaN
        out = step(*a, **k)
        with torch.no_grad():
            next(tr.model.parameters()).mul_(float("nan"))
        return out

    tr.optimizer.step = poisoned_step
    with pytest.raises(TrainingDiverged, match=r"a weight \(after the optimiser step\) became non-finite"):
        tr.fit()
    assert _unchanged(tr.last_path, good)
    # and the saver itself refuses non-finite weights, naming the file it did not write
    with pytest.raises(TrainingDiverged, match=r"weights are non-finite.*best\.pt was not written"):
        tr._save(os.path.join(tr.out_dir, "best.pt"), 1, full=False)
    assert not os.path.exists(os.path.join(tr.out_dir, "best.pt"))


def test_divergence_before_any_checkpoint_names_none(animal_data, tmp_path):
    root, _ = animal_data
    tr = Trainer(tiny_cfg(root, **{"train.val_every": 0}), str(tmp_path / "run"), **QUIET)
    real = tr.loss_fn
    tr.loss_fn = lambda *a: real(*a) * float("inf")
    with pytest.raises(TrainingDiverged, match="the loss \\(inf\\) became non-finite at epoch 1 step 1; "
                                               "stopped, no checkpoint was written"):
        tr.fit()
    assert not os.path.exists(tr.last_path)
    # the lock is released when a run fails: a resume attempt finds no checkpoint, not a lock
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        Trainer(tiny_cfg(root), str(tmp_path / "run"), resume=True, **QUIET)


def test_finite_model_sees_one_nan_in_a_buffer():
    m = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2))
    assert finite_model(m)
    m[1].running_var[1] = float("inf")
    assert not finite_model(m)


# ------------------------------------------------------------------ one run per folder
def test_two_trainings_into_one_folder(animal_data, tmp_path):
    root, _ = animal_data
    out = tmp_path / "run"
    Trainer(tiny_cfg(root, **{"train.epochs": 1}), str(out), **QUIET).fit()
    assert (out / "best.pt").is_file() and not (out / ".lock").exists()
    with pytest.raises(RunFolderError, match=r"holds another run \(config\.yaml, last\.pt, best\.pt, history\.json"):
        Trainer(tiny_cfg(root, **{"train.epochs": 1, "train.val_every": 0}), str(out), **QUIET)
    old_best = _weights(out / "best.pt")
    # --overwrite clears the old run: without validation best.pt is the new last.pt, not the old run's
    Trainer(tiny_cfg(root, **{"train.epochs": 1, "train.val_every": 0, "train.seed": 5}), str(out), overwrite=True,
            **QUIET).fit()
    new_last, new_best = _weights(out / "last.pt"), _weights(out / "best.pt")
    assert all(torch.equal(new_last[k], new_best[k]) for k in new_last)
    assert not all(torch.equal(old_best[k], new_best[k]) for k in new_best)
    assert len(json.load(open(out / "history.json"))) == 1


def test_cli_refuses_a_used_folder_in_one_line(animal_data, tmp_path):
    root, _ = animal_data
    out = tmp_path / "run"
    out.mkdir()
    (out / "last.pt").write_bytes(b"another run's checkpoint")
    r = _cli("pretrain", "--config", "demo_synthetic", "--out", str(out), "--quiet", "--set", f"train_data.root={root}")
    assert r.returncode == 1
    line = _one_line(r)
    assert "holds another run (last.pt)" in line and "--overwrite" in line
    assert (out / "last.pt").read_bytes() == b"another run's checkpoint"
    r = _cli("pretrain", "--config", "demo_synthetic", "--out", str(out), "--resume", "--overwrite")
    assert r.returncode == 1 and "--resume and --overwrite exclude each other" in _one_line(r)


def test_lock_held_by_a_live_process_is_refused_and_a_stale_one_taken_over(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (out / ".lock").write_text(str(sleeper.pid))
        with pytest.raises(RunFolderError, match=f"another run \\(pid {sleeper.pid}\\) is writing"):
            run_folder.claim(str(out))
    finally:
        sleeper.kill()
        sleeper.wait()
    lock = run_folder.claim(str(out))                        # its process is gone: stale
    assert open(lock).read() == str(os.getpid())
    other = subprocess.run([sys.executable, "-c", f"from animalpose.engine import run_folder; "
                            f"run_folder.claim({str(out)!r})"], cwd=ROOT, capture_output=True, text=True)
    assert other.returncode != 0 and f"another run (pid {os.getpid()}) is writing" in other.stderr
    run_folder.release(lock)
    assert not os.path.exists(lock)


def test_crash_leftovers_are_removed_and_text_writes_are_atomic(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    for name in (".last.pt.x1y2.tmp", ".history.json.abc.tmp", ".config.yaml.q.tmp"):
        (out / name).write_bytes(b"torn")
    (out / "notes.txt").write_text("the user's own file")
    run_folder.release(run_folder.claim(str(out)))
    assert sorted(os.listdir(out)) == ["notes.txt"]
    # a fixed-name temporary file of another writer does not collide with dump's unique one
    (out / "config.yaml.tmp").write_text("another writer")
    from animalpose.engine.config import ExperimentConfig
    dump(ExperimentConfig(), str(out / "config.yaml"))
    assert (out / "config.yaml.tmp").read_text() == "another writer"
    assert sorted(os.listdir(out)) == ["config.yaml", "config.yaml.tmp", "notes.txt"]


# ------------------------------------------------------------------ resume
def test_resume_refuses_a_changed_config_naming_the_keys(animal_data, tmp_path):
    root, _ = animal_data
    out = tmp_path / "run"
    Trainer(tiny_cfg(root, **{"train.epochs": 1}), str(out), **QUIET).fit()
    before = (out / "config.yaml").read_text()
    with pytest.raises(ValueError, match=r"--resume: the config differs from the run's in codec\.sigma, optim\.lr "
                                         r"\(only train\.epochs"):
        Trainer(tiny_cfg(root, **{"optim.lr": 1e-2, "codec.sigma": 3.5}), str(out), resume=True, **QUIET)
    assert (out / "config.yaml").read_text() == before      # not rewritten with the refused values
    tr = Trainer(tiny_cfg(root, **{"train.epochs": 2}), str(out), resume=True, **QUIET)   # more epochs: allowed
    assert tr.start_epoch == 1
    tr.fit()
    assert len(json.load(open(out / "history.json"))) == 2


def test_config_changes_lists_dotted_keys():
    old = {"train": {"epochs": 1, "batch_size": 4}, "optim": {"lr": 1e-3, "milestones": [3]},
           "model": {"options": {"stacks": 1}}}
    new = {"train": {"epochs": 9, "batch_size": 8}, "optim": {"lr": 1e-3, "milestones": [4]},
           "model": {"options": {"stacks": 2}}}
    assert config_changes(old, new) == ["model.options", "optim.milestones", "train.batch_size"]


# ------------------------------------------------------------------ one-line errors
def test_worker_error_names_the_corrupt_image_in_one_line(animal_data, tmp_path):
    src, written = animal_data
    root = tmp_path / "data"
    shutil.copytree(src, root)
    for s in written["synthetic_horse"]:                      # every source image: whichever is read first fails
        p = root / (os.path.relpath(s["prefix"], src) + "img.png")
        data = p.read_bytes()
        p.write_bytes(data[:len(data) // 3])                  # header intact, pixels truncated
    r = _cli("pretrain", "--config", "demo_synthetic", "--out", str(tmp_path / "run"), "--quiet", "--workers", "2",
             "--set", f"train_data.root={root}", "--set", f"val_data.root={root}", "--set", "train.val_every=0",
             "--set", "train.epochs=1", "--set", "train.max_steps_per_epoch=1", "--set", "train.batch_size=2",
             "--set", "model.options={stacks: 1, blocks: 1, features: 8}", "--set", "codec.input_size=[64, 64]",
             "--set", "codec.heatmap_size=[16, 16]", "--device", "cpu")
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr
    # libpng itself writes "libpng error: Read Error" (no newline) from each worker that decodes a file
    lines = [x for x in r.stderr.replace("libpng error: Read Error", "").splitlines() if x.strip()]
    assert len(lines) == 1, r.stderr
    line = lines[0]
    assert line.startswith("animalpose pretrain: error: ") and "_img.png: image file is missing or unreadable" in line, line


@pytest.mark.parametrize("setting,message", [
    ("train.epochs=0", "train.epochs must be an integer >= 1, got 0"),
    ("train.epochs=-3", "train.epochs must be an integer >= 1, got -3"),
    ("train.val_every=-1", "train.val_every must be an integer >= 0"),
    ("train.max_steps_per_epoch=0", "train.max_steps_per_epoch must be null or an integer >= 1"),
    ("optim.lr=.inf", "optim.lr must be a finite number > 0, got inf"),
    ("optim.lr=.nan", "optim.lr must be a finite number > 0, got nan"),
    ("train.batch_size=0", "train.batch_size must be an integer >= 1, got 0"),
    ("eval.alpha=-1", "eval.alpha must be a number in (0, 1]"),
    ("codec.sigma=0", "codec.sigma must be a finite number > 0"),
])
def test_nonsense_settings_name_their_key(tmp_path, setting, message):
    from animalpose.cli import main
    import io
    import contextlib
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        rc = main(["pretrain", "--config", "demo_synthetic", "--out", str(tmp_path / "r"), "--set", setting])
    assert rc == 1 and message in err.getvalue() and err.getvalue().count("\n") == 1
    assert not (tmp_path / "r").exists()                       # nothing written, no checkpoint claimed


def test_evaluate_options_are_checked_before_any_work(tmp_path):
    from animalpose.cli import main
    import io
    import contextlib
    for opts, message in ((["--batch-size", "0"], "--batch-size must be >= 1, got 0"),
                          (["--alpha", "-1"], "--alpha must be > 0 and <= 1, got -1.0"),
                          (["--alpha", "nan"], "--alpha must be > 0 and <= 1, got nan"),
                          (["--stem", "../../x"], "--stem must be a plain file name"),
                          (["--stem", ".."], "--stem must be a plain file name"),
                          (["--name", "../x"], "--name must be a plain file name")):
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            rc = main(["evaluate", "--checkpoint", str(tmp_path / "none.pt"), "--out", str(tmp_path / "o"), *opts])
        assert rc == 1 and message in err.getvalue(), (opts, err.getvalue())
    assert not (tmp_path / "x").exists()


def test_one_line_reduces_a_worker_traceback():
    from animalpose.cli import one_line
    msg = ("Caught DatasetFormatError in DataLoader worker process 1.\nOriginal Traceback (most recent call last):\n"
           '  File "x.py", line 3, in f\n    raise DatasetFormatError(p, "bad")\n'
           "datasets.errors.DatasetFormatError: /data/a b.png: image file is missing or unreadable")
    assert one_line(msg) == "/data/a b.png: image file is missing or unreadable"
    assert one_line("first\n  second") == "first second"
    from datasets.errors import DatasetFormatError
    e = DatasetFormatError("whole message")                    # how PyTorch rebuilds it from a worker
    assert str(e) == "whole message" and e.path is None
    assert str(DatasetFormatError("/f.json", "bad")) == "/f.json: bad"


# ------------------------------------------------------------------ checkpoints
def test_crafted_checkpoint_config_is_checked_on_the_meta_device(animal_data, tmp_path, monkeypatch):
    """A checkpoint whose stored config asks for a huge model is refused from the weights' shapes
    before any real tensor of that model is allocated; the error names the file."""
    from animalpose.engine.inference import load_trained
    from animalpose.models import checkpoint as ck
    root, _ = animal_data
    tr = Trainer(tiny_cfg(root, **{"train.epochs": 1, "train.val_every": 0}), str(tmp_path / "run"), **QUIET)
    tr.fit()
    meta = torch.load(tr.last_path, map_location="cpu", weights_only=True)
    meta["config"]["model"]["options"]["features"] = 4096            # ~ 100 GB of hourglass weights
    crafted = tmp_path / "crafted.pt"
    torch.save(meta, crafted)
    built = []
    import animalpose.engine.inference as inference
    real_build = inference.build_model

    def watched(*a, **k):
        m = real_build(*a, **k)
        built.append(next(m.parameters()).device.type)
        return m

    monkeypatch.setattr(inference, "build_model", watched)
    with pytest.raises(ck.CheckpointMismatchError, match=f"checkpoint '{crafted}' does not match .*shape mismatch"):
        load_trained(str(crafted), torch.device("cpu"))
    assert built == ["meta"]                                          # never built for real
    tm = load_trained(tr.last_path, torch.device("cpu"))              # the honest one loads
    assert built == ["meta", "meta", "cpu"] and tm.spec.num_joints == 18
