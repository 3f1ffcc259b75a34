"""Supervised top-down training loop.

One :class:`Trainer` = one run folder ``out/``:

* ``config.yaml`` - the resolved experiment config;
* ``last.pt`` (every epoch) and ``best.pt`` (best validation metric), written
  atomically, both loadable with ``torch.load(..., weights_only=True)``;
  ``last.pt`` also holds optimiser, scheduler and RNG state for ``--resume``;
* ``tb/`` - TensorBoard scalars (loss, lr, metric) and prediction images;
* ``history.json`` - per-epoch loss and validation metric.

Sample randomness depends only on ``(seed, epoch, index)`` and the shuffling
order on ``(seed, epoch)``, so a resumed run finishes with the same weights as
an uninterrupted one (deterministic mode).  Under ``torchrun`` the model is
wrapped in DistributedDataParallel; rank 0 logs and writes files.
"""
from __future__ import annotations

import atexit
import json
import math
import os
import time
from typing import Callable, Dict, Optional

import numpy as np
import torch
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler

from ..keypoints import get_spec
from ..models import load_checkpoint, save_checkpoint
from . import runtime
from . import run_folder
from .config import AugmentConfig, ExperimentConfig, save_experiment
from .configio import to_dict
from .data import TopDownDataset, build_normalize, build_source, seed_worker
from .evaluator import evaluate, heatmaps_of, primary_metric
from .factories import build_codec_from_config, build_model_from_config, memory_format, require_backbone
from .losses import CombinedTargetMSELoss, JointsMSELoss
from .optim import build_optimizer, build_scheduler, warmup_factor


class TrainingDiverged(RuntimeError):
    """The loss, a gradient or a weight became NaN or infinite."""


#: config keys that may differ when a run is resumed (everything else is refused)
RESUME_MAY_CHANGE = ("train.epochs", "train.workers", "train.device", "train.log_images")


def _flatten(d, prefix: str = "") -> Dict[str, object]:
    out = {}
    for k, v in (d or {}).items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v and not key.endswith("options") and not key.endswith("overrides"):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def config_changes(old: Dict, new: Dict):
    """Dotted keys whose values differ between two config dicts, except :data:`RESUME_MAY_CHANGE`."""
    a, b = _flatten(old), _flatten(new)
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k) and k not in RESUME_MAY_CHANGE)


def finite_model(model: torch.nn.Module) -> bool:
    """Whether every parameter and buffer of ``model`` is finite (one reduction per tensor, one sync)."""
    sums = [t.float().sum() for t in list(model.parameters()) + list(model.buffers()) if t.is_floating_point()]
    return bool(torch.isfinite(torch.stack(sums)).all()) if sums else True


class Trainer:
    """Train ``cfg`` into ``out_dir``.

    Args:
        cfg: the experiment.
        out_dir: run folder.
        resume: continue from ``out_dir/last.pt``.
        quiet: no progress bars.
        log: line printer (rank 0 only).
    """

    def __init__(self, cfg: ExperimentConfig, out_dir: str, resume: bool = False, quiet: bool = False,
                 log: Callable[[str], None] = print, overwrite: bool = False):
        self.cfg, self.out_dir, self.quiet = cfg, out_dir, quiet
        self.dist, self.device = runtime.init_distributed(cfg.train.device)
        self.log = log if self.dist.is_main else (lambda *_: None)
        self._lock = None
        if self.dist.is_main:                 # one run per folder, held while it writes
            self._lock = run_folder.claim(out_dir, resume=resume, overwrite=overwrite)
            atexit.register(run_folder.release, self._lock)
        try:
            self._setup(cfg, out_dir, resume)
        except BaseException:
            run_folder.release(self._lock)
            raise

    def _setup(self, cfg: ExperimentConfig, out_dir: str, resume: bool) -> None:
        runtime.seed_everything(cfg.train.seed, cfg.train.deterministic)
        require_backbone(cfg)                  # before reading any data
        self.codec = build_codec_from_config(cfg)
        aspect = self.codec.input_size[0] / self.codec.input_size[1]
        self.train_source = build_source(cfg.train_data, aspect_ratio=aspect)
        if cfg.spec == "auto":                 # the training data's own spec (e.g. a DLC project's body parts)
            cfg.spec = self.train_source.spec
        self.spec = get_spec(cfg.spec)
        self.normalize = build_normalize(cfg.normalize)
        self.model = build_model_from_config(cfg, self.log).to(self.device, memory_format=memory_format(cfg))
        self.val_source = build_source(cfg.val_data, aspect_ratio=aspect) if cfg.val_data is not None else None
        self.train_set = self.build_train_set()
        self.loss_fn = self.build_loss().to(self.device)
        self.setup_method()                    # a method's own modules and data (before the optimiser)
        self.optimizer = build_optimizer(self.param_groups(), cfg.optim)
        self.scheduler = build_scheduler(self.optimizer, cfg.optim)
        self.net = self.model
        if self.dist.enabled:
            self.net = torch.nn.parallel.DistributedDataParallel(
                self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None)
        self.start_epoch, self.best, self.history = 0, -math.inf, []
        self.last_val: Optional[Dict] = None   # validation result of the latest validated epoch
        if resume:                             # refuses a changed config before anything is rewritten
            self._resume()
        if self.dist.is_main:
            os.makedirs(out_dir, exist_ok=True)
            save_experiment(cfg, os.path.join(out_dir, "config.yaml"))
        self.writer = None
        if self.dist.is_main:
            from torch.utils.tensorboard import SummaryWriter
            self.writer = SummaryWriter(os.path.join(out_dir, "tb"))

    # ------------------------------------------------------------------ method hooks
    # A method (CC-SSL, WS-CDA, PPLO, bottom-up DEKR ...) subclasses Trainer and overrides these;
    # the loop (:meth:`train_epoch`), resume, checkpoints, logging, DDP and the finite-value checks
    # stay here.
    def setup_method(self) -> None:
        """Build the method's own modules and data streams; runs after the model, data and loss exist
        and before the optimiser is built from :meth:`param_groups`."""

    def param_groups(self):
        """What the optimiser trains: the model's parameters, or a list of groups (e.g. + a discriminator)."""
        return self.model.parameters()

    def epoch_batches(self, epoch: int):
        """``(iterable of step inputs, steps)`` of ``epoch``; label rounds run here (model in eval mode).
        Default: the shuffled training loader, at most ``train.max_steps_per_epoch`` steps."""
        loader = self._train_loader(epoch)
        steps = len(loader) if self.cfg.train.max_steps_per_epoch is None else min(
            len(loader), self.cfg.train.max_steps_per_epoch)
        return loader, steps

    def train_modules(self):
        """The modules switched to training mode for the epoch."""
        return [self.net]

    def training_step(self, batch, epoch: int, step: int, steps: int) -> Dict[str, torch.Tensor]:
        """Losses of one step: ``total`` is minimised; every other entry is logged as ``train/<key>``."""
        loss = self.batch_loss(batch)
        return {"total": loss, "loss": loss}

    def step_message(self, sums: Dict[str, float], n: int) -> str:
        """The progress bar's message from the running loss sums over ``n`` steps."""
        return f"loss {sums['total'] / n:.3g}"

    def bar_label(self, epoch: int) -> str:
        return f"epoch {epoch + 1}/{self.cfg.train.epochs}"

    def end_epoch(self, epoch: int, means: Dict[str, float]) -> float:
        """The epoch's loss (mean over steps and processes) from the per-key means; a method may log more."""
        return runtime.all_reduce_mean(means.get("total", 0.0), self.dist, self.device)

    def build_train_set(self):
        """The training dataset (top-down crops; :class:`~animalpose.engine.bottomup.BottomUpTrainer`
        overrides it with whole images)."""
        return TopDownDataset(self.train_source, self.spec, self.codec, self.cfg.augment, self.normalize,
                              seed=self.cfg.train.seed)

    def build_loss(self) -> torch.nn.Module:
        if self.cfg.loss.name == "combined_target":
            return CombinedTargetMSELoss(self.cfg.loss.use_target_weight)
        return JointsMSELoss(self.cfg.loss.use_target_weight, self.cfg.loss.joint_weights)

    def batch_loss(self, batch: Dict) -> torch.Tensor:
        """Training loss of one loader batch."""
        images = batch["image"].to(self.device, non_blocking=True)
        target = batch["target"].to(self.device, non_blocking=True)
        weight = batch["target_weight"].to(self.device, non_blocking=True)
        return self.loss_fn(self.net(images), target, weight)

    # ------------------------------------------------------------------ state
    @property
    def last_path(self) -> str:
        return os.path.join(self.out_dir, "last.pt")

    @property
    def best_path(self) -> str:
        """``best.pt`` (selected on a validation split), or ``best_on_test.pt`` when ``eval.selection``
        says the validation data is the test set (the official CC-SSL selection, named as such)."""
        return os.path.join(self.out_dir, "best_on_test.pt" if self.cfg.eval.selection == "test" else "best.pt")

    def _write_selection(self) -> None:
        """``OUT/selection.json``: the last epoch and the selected one, with the split they were scored on."""
        key = self.cfg.eval.protocol
        scored = [r for r in self.history if key in r]
        out = {"metric": key, "selected_on": self.cfg.eval.selection,
               "last": {"epoch": self.history[-1]["epoch"] if self.history else None,
                        key: scored[-1][key] if scored and scored[-1] is self.history[-1] else None,
                        "checkpoint": "last.pt"}}
        if scored:
            best = max(scored, key=lambda r: r[key])
            out["best_on_" + self.cfg.eval.selection] = {"epoch": best["epoch"], key: best[key],
                                                         "checkpoint": os.path.basename(self.best_path)}
        run_folder.atomic_write_text(os.path.join(self.out_dir, "selection.json"), json.dumps(out, indent=1))

    def checkpoint_extra(self) -> dict:
        """Further entries a subclass stores in every checkpoint (e.g. a discriminator's state)."""
        return {}

    def guarded_modules(self):
        """The modules whose weights must stay finite (and are saved): the model; a method adds its own."""
        return [self.model]

    def _finite(self) -> bool:
        return all(finite_model(m) for m in self.guarded_modules())

    def _save(self, path: str, epoch: int, full: bool) -> None:
        if not self._finite():
            raise TrainingDiverged(f"the weights are non-finite at epoch {epoch + 1}; {path} was not written")
        extra = {"epoch": epoch, "config": to_dict(self.cfg), "spec_definition": self.spec.to_dict(),
                 "best_metric": self.best,
                 "metric": self.cfg.eval.protocol, "history": self.history, **self.checkpoint_extra()}
        if full:
            extra.update({"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                          "rng": runtime.rng_state()})
        save_checkpoint(path, self.model, **extra)

    def check_resumable(self) -> dict:
        """Read ``OUT/last.pt`` for ``--resume``: it must exist, be resumable, and have been written
        with this config (up to :data:`RESUME_MAY_CHANGE`); returns its contents."""
        if not os.path.isfile(self.last_path):
            raise FileNotFoundError(f"--resume: no checkpoint at {self.last_path}")
        try:
            meta = torch.load(self.last_path, map_location=self.device, weights_only=True)
        except Exception as e:  # noqa: BLE001 - any unreadable file gets the same one-line message
            raise ValueError(f"--resume: {self.last_path} is not a readable checkpoint ({type(e).__name__})") from None
        if not isinstance(meta, dict):
            raise ValueError(f"{self.last_path}: not a resumable checkpoint (not a dict)")
        missing = [k for k in ("epoch", "optimizer", "scheduler", "rng", "state_dict") if k not in meta]
        if missing:
            raise ValueError(f"{self.last_path}: not a resumable checkpoint (missing {', '.join(missing)})")
        changed = config_changes(meta.get("config", {}), to_dict(self.cfg))
        if changed:
            raise ValueError(f"--resume: the config differs from the run's in {', '.join(changed)} (only "
                             f"{', '.join(RESUME_MAY_CHANGE)} may change on resume); start a new run instead")
        return meta

    def _resume(self) -> None:
        meta = self.check_resumable()
        state = meta.get("state_dict", {})
        load_checkpoint(self.model, state, name=self.last_path)
        self.optimizer.load_state_dict(meta["optimizer"])
        self.scheduler.load_state_dict(meta["scheduler"])
        runtime.set_rng_state(meta["rng"])
        self.start_epoch = int(meta["epoch"]) + 1
        self.best = float(meta.get("best_metric", -math.inf))
        self.history = list(meta.get("history", []))
        self.log(f"resumed from {self.last_path} at epoch {self.start_epoch}")

    # ------------------------------------------------------------------ loops
    def _train_loader(self, epoch: int) -> DataLoader:
        return self.epoch_loader(self.train_set, epoch)

    def epoch_loader(self, dataset: TopDownDataset, epoch: int, stream: int = 0) -> DataLoader:
        """Shuffled training loader of ``epoch``: the order depends only on ``(seed, epoch, stream)``
        (``stream`` tells apart several datasets of one run); a ``DistributedSampler`` under torchrun."""
        dataset.set_epoch(epoch)
        t = self.cfg.train
        if self.dist.enabled:
            sampler = DistributedSampler(dataset, num_replicas=self.dist.world_size, rank=self.dist.rank,
                                         shuffle=True, seed=t.seed + stream, drop_last=True)
            sampler.set_epoch(epoch)
        else:
            g = torch.Generator()
            g.manual_seed(t.seed * 100003 + epoch + stream)
            sampler = RandomSampler(dataset, generator=g)
        return DataLoader(dataset, batch_size=t.batch_size, sampler=sampler, num_workers=t.workers,
                          drop_last=len(dataset) >= t.batch_size * 2, worker_init_fn=seed_worker,
                          pin_memory=self.device.type == "cuda")

    def diverged(self, what: str, epoch: int, step: int, bar=None) -> TrainingDiverged:
        """The error of a non-finite ``what``: names the last checkpoint only if it exists (every saved
        checkpoint is finite: :meth:`_save` refuses non-finite weights)."""
        if bar is not None:
            bar.finish()
        where = (f"the last finite checkpoint is {self.last_path}" if os.path.isfile(self.last_path)
                 else "no checkpoint was written")
        return TrainingDiverged(f"{what} became non-finite at epoch {epoch + 1} step {step + 1}; stopped, {where}")

    def _check_weights(self, epoch: int, step: int, bar=None) -> None:
        if not self._finite():
            raise self.diverged("a weight (after the optimiser step)", epoch, step, bar)

    def optimizer_step(self, loss: torch.Tensor, epoch: int, step: int, bar=None) -> None:
        """Backward + optimiser step; a non-finite loss, gradient or updated weight stops the run
        before anything is saved (:meth:`diverged`)."""
        if not torch.isfinite(loss):
            raise self.diverged(f"the loss ({loss.item()})", epoch, step, bar)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grads = [p.grad.float().sum() for m in self.guarded_modules() for p in m.parameters() if p.grad is not None]
        if grads and not bool(torch.isfinite(torch.stack(grads)).all()):
            raise self.diverged("a gradient", epoch, step, bar)
        if self.cfg.train.grad_clip:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.train.grad_clip)
        factor = warmup_factor(epoch * getattr(self, "_steps_per_epoch", 0) + step, self.cfg.optim)
        if factor == 1.0:
            self.optimizer.step()
            self._check_weights(epoch, step, bar)
            return
        scheduled = [g["lr"] for g in self.optimizer.param_groups]
        for g, lr in zip(self.optimizer.param_groups, scheduled):
            g["lr"] = lr * factor                 # warm-up on top of the epoch schedule
        self.optimizer.step()
        for g, lr in zip(self.optimizer.param_groups, scheduled):
            g["lr"] = lr
        self._check_weights(epoch, step, bar)

    def train_epoch(self, epoch: int) -> float:
        """The one training loop: :meth:`epoch_batches` -> :meth:`training_step` -> the guarded
        optimiser step, for ``steps`` steps; returns :meth:`end_epoch`."""
        from itertools import islice
        from ..progress import Steps
        batches, steps = self.epoch_batches(epoch)
        for m in self.train_modules():
            m.train()
        bar = Steps(self.bar_label(epoch), steps, self.quiet or not self.dist.is_main)
        self._steps_per_epoch = steps
        sums: Dict[str, float] = {}
        n = 0
        for step, batch in enumerate(islice(batches, steps)):
            losses = self.training_step(batch, epoch, step, steps)
            self.optimizer_step(losses["total"], epoch, step, bar)
            vals = {k: float(v.item()) for k, v in losses.items()}
            for k, v in vals.items():
                sums[k] = sums.get(k, 0.0) + v
            n += 1
            if self.writer is not None:
                for k, v in vals.items():
                    if k != "total":
                        self.writer.add_scalar(f"train/{k}", v, epoch * steps + step)
            bar.next(self.step_message(sums, n))
        bar.finish()
        return self.end_epoch(epoch, {k: v / max(n, 1) for k, v in sums.items()})

    def validate(self, epoch: int) -> Optional[Dict]:
        if self.val_source is None:
            return None
        e = self.cfg.eval
        res = evaluate(self.model, self.val_source, e.protocol, self.codec, self.normalize, self.spec, self.device,
                       flip=e.flip, batch_size=e.batch_size, workers=self.cfg.train.workers, alpha=e.alpha,
                       warp=self.cfg.augment.warp, antialias=self.cfg.augment.antialias,
                       scale_dtype=self.cfg.augment.scale_dtype)
        if self.writer is not None:
            self.writer.add_scalar(f"val/{e.protocol}", primary_metric(res, e.protocol), epoch)
            self._log_images(epoch)
        return res

    @torch.no_grad()
    def _log_images(self, epoch: int) -> None:
        n = min(self.cfg.train.log_images, len(self.val_source))
        if n <= 0:
            return
        from ..visualize import draw_pose
        none_cfg = AugmentConfig(recipe="none", warp=self.cfg.augment.warp, antialias=self.cfg.augment.antialias,
                                 scale_dtype=self.cfg.augment.scale_dtype)
        ds = TopDownDataset(self.val_source, self.spec, self.codec, none_cfg, self.normalize)
        items = [ds[i] for i in range(n)]
        images = torch.stack([it["image"] for it in items]).to(self.device)
        self.model.eval()
        kp, sc = self.codec.decode(heatmaps_of(self.model(images)).float().cpu())
        pics = []
        for it, k, s in zip(items, kp, sc):
            img = self.normalize.denormalize(it["image"])
            pics.append(draw_pose(img, np.concatenate([k, (s > 0.1)[:, None]], 1), self.spec))
        self.writer.add_images("val/predictions", np.stack(pics), epoch, dataformats="NHWC")

    def fit(self) -> Dict:
        """Train for the configured epochs; returns ``{"best", "last_epoch", "history"}``.  The run
        folder's lock is released at the end, also when the run fails."""
        try:
            return self._fit()
        finally:
            run_folder.release(self._lock)

    def _fit(self) -> Dict:
        cfg = self.cfg
        for epoch in range(self.start_epoch, cfg.train.epochs):
            t0 = time.time()
            before = cfg.optim.scheduler_step == "before_epoch"
            if before:
                self.scheduler.step()             # the official HRNet loop: step, then train the epoch
            loss = self.train_epoch(epoch)
            if not before:
                self.scheduler.step()
            record = {"epoch": epoch + 1, "loss": loss, "lr": self.optimizer.param_groups[0]["lr"],
                      "seconds": round(time.time() - t0, 2)}
            val = None
            if cfg.train.val_every and ((epoch + 1) % cfg.train.val_every == 0 or epoch + 1 == cfg.train.epochs):
                if self.dist.is_main:
                    val = self.validate(epoch)
                runtime.barrier(self.dist)
            if val is not None:
                self.last_val = val
                metric = primary_metric(val, cfg.eval.protocol)
                record[cfg.eval.protocol] = metric
                if metric > self.best:
                    self.best = metric
                    self._save(self.best_path, epoch, full=False)
            self.history.append(record)
            if self.writer is not None:
                self.writer.add_scalar("train/epoch_loss", loss, epoch)
                self.writer.add_scalar("train/lr", record["lr"], epoch)
            if self.dist.is_main:
                self._save(self.last_path, epoch, full=True)
                run_folder.atomic_write_text(os.path.join(self.out_dir, "history.json"),
                                             json.dumps(self.history, indent=1))
            msg = f"epoch {epoch + 1}/{cfg.train.epochs}  loss {loss:.4g}  lr {record['lr']:.3g}"
            if val is not None:
                msg += f"  {cfg.eval.protocol} {100 * record[cfg.eval.protocol]:.2f}"
            self.log(msg)
            runtime.barrier(self.dist)
        if self.dist.is_main and not os.path.isfile(self.best_path) and os.path.isfile(self.last_path):
            self._save(self.best_path, cfg.train.epochs - 1, full=False)   # no validation: best = last
        if self.dist.is_main:
            self._write_selection()
        if self.writer is not None:
            self.writer.close()
        return {"best": self.best, "last_epoch": cfg.train.epochs, "history": self.history}
