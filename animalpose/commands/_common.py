"""Options shared by the training and inference commands."""
from __future__ import annotations

import os


def add_runtime_options(p, out_default: str, seed: bool = True) -> None:
    """``--out``, ``--device``, ``--seed``, ``--workers``, ``--quiet``."""
    p.add_argument("--out", default=out_default, help="output folder (created)")
    p.add_argument("--device", default=None,
                   help="auto (cuda when available, else cpu), cpu, cuda or cuda:N (default: the config's "
                        "train.device when training, else auto)")
    if seed:
        p.add_argument("--seed", type=int, default=None, help="random seed (default: the config's train.seed)")
    p.add_argument("--workers", type=int, default=None,
                   help=f"data-loading worker processes (default: the config's, at most {os.cpu_count()})")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def file_stem(value: str, option: str = "--stem") -> str:
    """A file name stem that stays inside ``--out``: no folder part, no ``..``, not empty."""
    if not value or value in (".", "..") or os.path.basename(value) != value or "/" in value or "\\" in value:
        raise ValueError(f"{option} must be a plain file name (it is written inside --out), got {value!r}")
    return value


def check_number(value, option: str, low=None, high=None, low_open: bool = False, integer: bool = False):
    """``value`` (when given) must be finite and within ``[low, high]`` (``(low, high]`` with
    ``low_open``); raises one line naming ``option``."""
    import math
    if value is None:
        return value
    bad = not math.isfinite(float(value)) or (low is not None and (value <= low if low_open else value < low)) \
        or (high is not None and value > high)
    if bad:
        lo = "" if low is None else (f"> {low}" if low_open else f">= {low}")
        hi = "" if high is None else f"<= {high}"
        raise ValueError(f"{option} must be {' and '.join(x for x in (lo, hi) if x) or 'finite'}, got {value}")
    return value


def add_run_folder_options(p) -> None:
    """``--resume`` and ``--overwrite`` of the training commands (one run per ``--out`` folder)."""
    p.add_argument("--resume", action="store_true", help="continue the run in OUT from OUT/last.pt")
    p.add_argument("--overwrite", action="store_true",
                   help="delete the run files already in OUT (config.yaml, *.pt, history.json, tb/, labels) "
                        "and start afresh; without it a folder that holds another run is refused")


def check_run_folder_options(args) -> None:
    if args.resume and args.overwrite:
        raise ValueError("--resume and --overwrite exclude each other")


def runtime_overrides(args) -> list:
    """``--device/--seed/--workers`` as ``train.*`` config overrides (only those given)."""
    out = [f"train.device={args.device}"] if args.device is not None else []
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
