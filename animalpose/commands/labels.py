"""``animalpose labels``: score the saved pseudo-label rounds of a CC-SSL run against the target labels."""
from __future__ import annotations

import glob
import os

from ..engine.config import load_experiment


def register(sub, formatter):
    p = sub.add_parser(
        "labels", formatter_class=formatter,
        help="score a CC-SSL run's pseudo-labels against the target's hidden labels",
        description="Read the pseudo-label rounds of an `animalpose adapt --method ccssl` run "
                    "(RUN/ssl_labels/round_EEE.npz) and compare them with the annotations of the target training "
                    "split, which CC-SSL never reads while it trains (TigDog and the built-in data have them). A "
                    "label is correct within ALPHA x the crop side of its ground truth (the PCK@0.05 distance) and "
                    "swapped when it is instead that close to its visible flip partner's. Writes, per round, "
                    "OUT/round_EEE.{md,csv,json,png} (per joint and group: correct, swapped, kept share, and the "
                    "same over the kept joints and over the flow-replaced ones) and OUT/rounds.{md,csv,json} (one "
                    "line per round); prints the rounds table.")
    p.add_argument("--run", required=True, help="output folder of `animalpose adapt --method ccssl` (holds "
                                                "config.yaml and ssl_labels/)")
    p.add_argument("--labels", nargs="+", default=None,
                   help="pseudo-label files to score (default: every RUN/ssl_labels/round_*.npz)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override the run's config, e.g. --set ccssl.target_data.root=DATA when the data moved")
    p.add_argument("--alpha", type=float, default=0.05, help="correct within ALPHA x the crop side")
    p.add_argument("--out", default=None, help="output folder (default: RUN/label_quality)")
    return p


def run(args) -> int:
    from ccssl.label_quality import rounds_markdown, score_rounds

    config = os.path.join(args.run, "config.yaml")
    if not os.path.isfile(config):
        raise FileNotFoundError(f"--run {args.run}: no config.yaml; expected the output folder of "
                                "`animalpose adapt --method ccssl`")
    if not args.alpha > 0:
        raise ValueError(f"--alpha must be > 0, got {args.alpha}")
    cfg = load_experiment(config, args.overrides)
    if cfg.ccssl is None:
        raise ValueError(f"{config}: no `ccssl` section; --run must be a CC-SSL run")
    files = args.labels or sorted(glob.glob(os.path.join(args.run, "ssl_labels", "round_*.npz")))
    if not files:
        raise FileNotFoundError(f"--run {args.run}: no ssl_labels/round_*.npz")
    out = args.out or os.path.join(args.run, "label_quality")
    rows = score_rounds(cfg, files, out, args.alpha)
    print(rounds_markdown(rows), end="")
    print(f"wrote {out}/rounds.md, rounds.csv, rounds.json and per-round reports")
    return 0
