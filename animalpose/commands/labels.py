"""``animalpose labels``: score the saved pseudo-label rounds of a CC-SSL run against the target labels."""
from __future__ import annotations

import csv
import glob
import json
import os

import numpy as np

from ..engine.config import load_experiment

_COLUMNS = ("round", "epoch", "threshold", "kept", "correct", "swapped", "kept_correct", "kept_swapped",
            "replaced", "replaced_correct")


def register(sub, formatter):
    p = sub.add_parser(
        "labels", formatter_class=formatter,
        help="score a CC-SSL run's pseudo-labels against the target's hidden labels",
        description="Read the pseudo-label rounds of an `animalpose adapt --method ccssl` run "
                    "(RUN/ssl_labels/round_EEE.npz) and compare them with the annotations of the target training "
                    "split, which CC-SSL never reads while it trains (TigDog and the built-in data have them). A "
                    "label is correct within ALPHA x the crop side of its ground truth (the PCK@0.05 distance) and "
                    "swapped when it is instead that close to its flip partner's. Writes, per round, "
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


def _ground_truth(cfg):
    """``(N, K, 3)`` annotated keypoints of the target training split, in image pixels."""
    from ..engine.data import build_source
    src = build_source(cfg.ccssl.target_data)
    return np.stack([np.asarray(src.annotation(i).keypoints, np.float64) for i in range(len(src))])


def _pct(v: float):
    return None if not np.isfinite(v) else round(100.0 * float(v), 2)


def run(args) -> int:
    from ccssl.label_quality import LABEL_SERIES, round_summary, score_labels
    from ccssl.pseudo_labels import PseudoLabels
    from evaluation.report import write_report

    from ..keypoints import get_spec

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
    spec = get_spec(cfg.spec)
    gt = _ground_truth(cfg)
    threshold = args.alpha * float(max(cfg.codec.input_size))
    out = args.out or os.path.join(args.run, "label_quality")
    os.makedirs(out, exist_ok=True)
    rows = []
    for path in files:
        labels = PseudoLabels.load(path)
        if labels.keypoints.shape != gt.shape[:2] + (2,):
            raise ValueError(f"{path}: {labels.keypoints.shape[0]} instances x {labels.keypoints.shape[1]} joints, "
                             f"but the target set has {gt.shape[0]} x {gt.shape[1]} (different data or spec?)")
        m = labels.matrices
        gt_crop = np.einsum("nij,nkj->nki", m[:, :, :2], gt[..., :2]) + m[:, None, :, 2]
        scores = score_labels(labels.keypoints, gt_crop, gt[..., 2] > 0, labels.weights > 0, spec.flip_pairs,
                              threshold, replaced=labels.replaced > 0)
        stem = os.path.splitext(os.path.basename(path))[0]
        write_report(out, {name: scores[name] for name in LABEL_SERIES if name in scores}, spec, stem=stem,
                     title=f"pseudo-labels {stem} (% of visible joints)")
        pooled = round_summary(scores)
        rows.append({"round": stem, "epoch": labels.epoch, "threshold": round(labels.threshold, 4),
                     "kept": _pct(pooled["kept_share"]), "correct": _pct(pooled["correct"]),
                     "swapped": _pct(pooled["swapped"]), "kept_correct": _pct(pooled["kept_correct"]),
                     "kept_swapped": _pct(pooled["kept_swapped"]),
                     "replaced": int(scores["replaced_correct"]["counts"].sum()),
                     "replaced_correct": _pct(pooled["replaced_correct"])})
    with open(os.path.join(out, "rounds.json"), "w") as f:
        json.dump({"run": args.run, "alpha": args.alpha, "threshold_px": threshold, "unit": "percent",
                   "rounds": rows}, f, indent=2)
    with open(os.path.join(out, "rounds.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=_COLUMNS)
        w.writeheader()
        w.writerows(rows)
    cell = lambda v: "-" if v is None else str(v)  # noqa: E731
    table = ["| " + " | ".join(_COLUMNS) + " |", "|" + "---|" * len(_COLUMNS)]
    table += ["| " + " | ".join(cell(r[c]) for c in _COLUMNS) + " |" for r in rows]
    md = "\n".join(table) + "\n"
    with open(os.path.join(out, "rounds.md"), "w") as f:
        f.write(f"Pseudo-labels of {args.run} against the target labels (correct within {threshold:g} px; "
                f"percent of the visible joints, kept_* of the kept ones)\n\n" + md)
    print(md, end="")
    print(f"wrote {out}/rounds.md, rounds.csv, rounds.json and per-round reports")
    return 0
