"""Options shared by the training and inference commands."""
from __future__ import annotations

import os


def add_runtime_options(p, out_default: str, seed: bool = True) -> None:
    """``--out``, ``--device``, ``--seed``, ``--workers``, ``--quiet``."""
    p.add_argument("--out", default=out_default, help="output folder (created)")
    p.add_argument("--device", default="auto",
                   help="auto (cuda when available, else cpu), cpu, cuda or cuda:N")
    if seed:
        p.add_argument("--seed", type=int, default=None, help="random seed (default: the config's train.seed)")
    p.add_argument("--workers", type=int, default=None,
                   help=f"data-loading worker processes (default: the config's, at most {os.cpu_count()})")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def runtime_overrides(args) -> list:
    """``--device/--seed/--workers`` as ``train.*`` config overrides."""
    out = [f"train.device={args.device}"]
    if getattr(args, "seed", None) is not None:
        out.append(f"train.seed={args.seed}")
    if args.workers is not None:
        if args.workers < 0:
            raise ValueError(f"--workers must be >= 0, got {args.workers}")
        out.append(f"train.workers={args.workers}")
    return out


def print_done(trainer, result, cfg, out: str, extra: str = "") -> None:
    """The closing line of a training command (rank 0 only)."""
    if not trainer.dist.is_main:
        return
    best = result["best"]
    if cfg.eval.selection == "test":
        line = (f"best_on_test {cfg.eval.protocol} {100 * best:.2f} (selected on the test set)"
                if best > float("-inf") else "no validation set")
        print(f"done: {line}; checkpoints in {out}/best_on_test.pt and last.pt (the last epoch){extra}")
        return
    line = f"best {cfg.eval.protocol} {100 * best:.2f}" if best > float("-inf") else "no validation set"
    print(f"done: {line}; checkpoints in {out}/best.pt and last.pt{extra}")
