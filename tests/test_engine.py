"""Training engine: the loss falls, resume == uninterrupted, two-process gloo DDP agrees,
NaN stops the run, configs are validated."""
import json
import os
import socket

import pytest
import torch

from animalpose.engine.config import ConfigError, ExperimentConfig, load_experiment
from animalpose.engine.configio import from_dict, parse_override
from animalpose.engine.trainer import Trainer, TrainingDiverged


def tiny_cfg(root, **over):
    """A seconds-long experiment: 1-stack 16-feature hourglass on 64x64 crops of the tiny data."""
    base = [
        f"train_data.root={root}", f"val_data.root={root}", "train_data.limit=8", "val_data.limit=6",
        "model.options={stacks: 1, blocks: 1, features: 16}", "codec.input_size=[64, 64]",
        "codec.heatmap_size=[16, 16]", "train.batch_size=4", "train.workers=0", "train.epochs=2",
        "train.val_every=1", "train.log_images=2", "train.device=cpu", "optim.lr=2e-3",
    ]
    return load_experiment("demo_synthetic", base + [f"{k}={v}" for k, v in over.items()])


def _weights(path):
    return torch.load(path, map_location="cpu", weights_only=True)["state_dict"]


def test_loss_falls_on_a_fixed_batch(animal_data, tmp_path):
    root, _ = animal_data
    cfg = tiny_cfg(root, **{"augment.recipe": "none", "train.epochs": 8, "train.val_every": 0})
    tr = Trainer(cfg, str(tmp_path / "run"), quiet=True, log=lambda *_: None)
    hist = tr.fit()["history"]
    losses = [h["loss"] for h in hist]
    assert losses[-1] < 0.5 * losses[0], losses
    for f in ("config.yaml", "last.pt", "best.pt", "history.json"):
        assert os.path.isfile(tmp_path / "run" / f)
    assert os.listdir(tmp_path / "run" / "tb")
    # the checkpoint carries the resolved config and reloads with weights_only=True
    ck = torch.load(tmp_path / "run" / "last.pt", map_location="cpu", weights_only=True)
    assert from_dict(ExperimentConfig, ck["config"]) == cfg
    assert ck["epoch"] == 7 and len(ck["history"]) == 8


def test_resume_equals_uninterrupted(animal_data, tmp_path):
    root, _ = animal_data
    full = Trainer(tiny_cfg(root), str(tmp_path / "full"), quiet=True, log=lambda *_: None)
    full.fit()
    # interrupted after epoch 1, then resumed with the full schedule
    Trainer(tiny_cfg(root, **{"train.epochs": 1}), str(tmp_path / "part"), quiet=True, log=lambda *_: None).fit()
    part = Trainer(tiny_cfg(root), str(tmp_path / "part"), resume=True, quiet=True, log=lambda *_: None)
    assert part.start_epoch == 1
    part.fit()
    a, b = _weights(tmp_path / "full" / "last.pt"), _weights(tmp_path / "part" / "last.pt")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    ha = json.load(open(tmp_path / "full" / "history.json"))
    hb = json.load(open(tmp_path / "part" / "history.json"))
    assert [h["loss"] for h in ha] == [h["loss"] for h in hb]


def test_nan_loss_stops_and_keeps_last_good_checkpoint(animal_data, tmp_path):
    root, _ = animal_data
    tr = Trainer(tiny_cfg(root, **{"train.val_every": 0}), str(tmp_path / "run"), quiet=True, log=lambda *_: None)
    tr.train_epoch(0)
    tr._save(tr.last_path, 0, full=True)
    good = _weights(tr.last_path)
    real = tr.loss_fn
    tr.loss_fn = lambda *a: real(*a) * float("nan")
    with pytest.raises(TrainingDiverged, match=r"the loss \(nan\) became non-finite at epoch 2 step 1.*last finite checkpoint is .*last.pt"):
        tr.start_epoch = 1
        tr.fit()
    after = _weights(tr.last_path)
    assert all(torch.equal(good[k], after[k]) for k in good)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank, world, port, root, out):
    os.environ.update({"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "RANK": str(rank),
                       "WORLD_SIZE": str(world), "LOCAL_RANK": str(rank)})
    torch.set_num_threads(1)
    cfg = tiny_cfg(root, **{"train.epochs": 1, "train.val_every": 0, "train.max_steps_per_epoch": 1})
    tr = Trainer(cfg, out, quiet=True, log=lambda *_: None)
    before = {k: v.clone() for k, v in tr.model.state_dict().items()}
    tr.fit()
    after = tr.model.state_dict()
    changed = any(not torch.equal(before[k], after[k]) for k in after if after[k].is_floating_point())
    # parameters (BN running statistics are per rank until DDP re-broadcasts them at the next forward)
    flat = torch.cat([p.detach().flatten() for p in tr.model.parameters()])
    torch.save({"flat": flat, "changed": changed}, os.path.join(out, f"rank{rank}.pt"))
    torch.distributed.destroy_process_group()


def test_two_process_gloo_ranks_agree(animal_data, tmp_path):
    root, _ = animal_data
    out = str(tmp_path / "ddp")
    os.makedirs(out)
    torch.multiprocessing.spawn(_ddp_worker, args=(2, _free_port(), root, out), nprocs=2, join=True)
    r0 = torch.load(os.path.join(out, "rank0.pt"), weights_only=True)
    r1 = torch.load(os.path.join(out, "rank1.pt"), weights_only=True)
    assert r0["changed"] and r1["changed"]          # a step was taken ...
    assert torch.equal(r0["flat"], r1["flat"])      # ... and both ranks hold the same weights
    assert os.path.isfile(os.path.join(out, "last.pt"))   # written by rank 0


def test_config_errors_name_key_and_file(tmp_path):
    with pytest.raises(ConfigError, match="unknown key 'optim.learning_rate'"):
        load_experiment("demo_synthetic", ["optim.learning_rate=1"])
    with pytest.raises(ConfigError, match="train.batch_size: expected an integer"):
        load_experiment("demo_synthetic", ["train.batch_size=six"])
    with pytest.raises(ConfigError, match="unknown config 'nope'"):
        load_experiment("nope")
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: {epochs: 3\n")
    with pytest.raises(ConfigError, match="bad.yaml: line .* not valid YAML"):
        load_experiment(str(bad))
    typo = tmp_path / "typo.yaml"
    typo.write_text("modle: {name: hourglass}\n")
    with pytest.raises(ConfigError, match=r"typo.yaml: unknown key 'modle'"):
        load_experiment(str(typo))
    with pytest.raises(ConfigError, match="dataset must be one of"):
        load_experiment("demo_synthetic", ["train_data.dataset=imagenet"])
    with pytest.raises(ValueError, match=r"optim.betas must be two numbers in \[0, 1\)"):
        load_experiment("demo_synthetic", ["optim.betas=[0.9, 1.0]"])
    assert parse_override("optim.milestones=[60, 90]") == (["optim", "milestones"], [60, 90])
    assert parse_override("optim.lr=1e-3") == (["optim", "lr"], 0.001)


def test_channels_last_option_sets_the_weight_layout():
    from animalpose.engine.factories import build_model_from_config, memory_format
    for flag, nhwc in (("true", True), ("false", False)):
        cfg = load_experiment("demo_synthetic", [f"train.channels_last={flag}"])
        w = build_model_from_config(cfg).to("cpu", memory_format=memory_format(cfg)).conv1.weight
        assert w.is_contiguous(memory_format=torch.channels_last) is nhwc
        assert w.is_contiguous() is not nhwc


def test_packaged_configs_all_load():
    from animalpose.engine.config import list_configs
    names = list_configs()
    assert {"demo_synthetic", "demo_real", "ccssl_synthetic_horse", "ccssl_real_tiger"} <= set(names)
    for n in names:
        cfg = load_experiment(n)
        assert cfg.name == n
