"""``animalpose demo``: the main job on built-in data.

1. render the demo data in the real formats (reused when already there for
   the same preset and seed);
2. ``source_only``: pretrain a small hourglass on the synthetic horses (source
   domain, CC-SSL's strong augmentation);
3. ``ccssl``: adapt it to the real-looking TigDog-format horses with CC-SSL
   (pseudo-labels from the unlabelled target training videos);
4. ``oracle``: train the same network on the target training videos with their
   labels (the upper bound adaptation must approach);
5. evaluate all on the target test split with the exact CC-SSL PCK@0.05 and
   write ``OUT/report.json`` plus Markdown, CSV and PNG reports; the CC-SSL
   runs' pseudo-label rounds are scored against the target's hidden labels
   (:mod:`ccssl.label_quality`), and ``source_only`` and ``oracle`` are scored
   on held-out synthetic images and on the target with one box-normalised PCK
   (the domain gap), into the same report.
"""
from __future__ import annotations

import dataclasses
import glob
import json
import os
import time

from ._common import add_runtime_options

#: (method name in the report, packaged config, what it is)
METHODS = (("source_only", "demo_synthetic", "pretrained on synthetic horses"),
           ("ccssl", "demo_ccssl", "CC-SSL adaptation of source_only to the unlabelled target videos"),
           ("oracle", "demo_real", "trained on the labelled target videos (upper bound)"))


def register(sub, formatter):
    p = sub.add_parser("demo", formatter_class=formatter, help="run the main job end to end on built-in data",
                       description="Render the built-in data (preset `demo`) in the real dataset formats into "
                                   "OUT/data, pretrain a small hourglass on the synthetic source domain "
                                   "(source_only), adapt it to the unlabelled real-looking target videos with CC-SSL "
                                   "(ccssl), train the same network on the labelled target videos (oracle), evaluate "
                                   "all with the exact CC-SSL PCK@0.05 on the target test split and write "
                                   "OUT/report.json, OUT/report.md, OUT/report.csv and OUT/report.png (runs in "
                                   "OUT/runs/). Measured at 14.5 to 18 minutes on a 2-core CPU.")
    p.add_argument("--preset", default="demo", choices=("tiny", "demo", "full"), help="data preset")
    p.add_argument("--epochs", type=int, default=None, help="training epochs per model (default: the configs')")
    from ccssl.method import ABLATION_OVERRIDES
    p.add_argument("--ablation", action="append", default=[], choices=sorted(ABLATION_OVERRIDES),
                   help="also run CC-SSL with this consistency switched off, or with no_target the control "
                        "without the target loss (gamma 0: the same steps of source training); repeatable, reported "
                        "as ccssl_<name>, about 4 minutes each on an idle 2-core CPU")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="config override applied to every demo run (e.g. train.batch_size=8)")
    add_runtime_options(p, "runs/demo")
    return p


def _have_data(data: str, preset: str, seed: int) -> bool:
    try:
        with open(os.path.join(data, "MANIFEST.json")) as f:
            m = json.load(f)
        return m["preset"]["name"] == preset and m["seed"] == seed
    except (OSError, ValueError, KeyError):
        return False


def run(args) -> int:
    from ccssl.label_quality import rounds_markdown, score_rounds
    from ccssl.trainer import CCSSLTrainer
    from evaluation import format_table, report_json, write_report
    from ..engine.config import load_experiment
    from ..engine.data import build_source
    from ..engine.trainer import Trainer
    from .generate import run_generate
    from ccssl.method import ABLATION_OVERRIDES

    t0 = time.time()
    seed = 0 if args.seed is None else args.seed
    data = os.path.join(args.out, "data")
    runs = [(name, config, what, []) for name, config, what in METHODS]
    runs[2:2] = [(f"ccssl_{a}", "demo_ccssl", f"CC-SSL ablation: {a.replace('_', ' ')}",
                  [ABLATION_OVERRIDES[a]]) for a in dict.fromkeys(args.ablation)]
    total = len(runs) + 2
    if _have_data(data, args.preset, seed):
        print(f"[1/{total}] reusing {args.preset} data in {data}")
    else:
        print(f"[1/{total}] rendering {args.preset} data into {data}")
        m = run_generate(args.preset, data, seed, args.workers or min(2, os.cpu_count() or 1),
                         ["synthetic", "tigdog"], args.quiet)
        print(f"      done in {m['seconds']} s")
    results, seconds, label_rounds, domain = {}, {}, {}, {}
    synthetic_valid = None
    spec = None
    source_ckpt = os.path.join(args.out, "runs", "source_only", "last.pt")
    for step, (name, config, what, switches) in enumerate(runs, start=2):
        t1 = time.time()
        overrides = [f"train_data.root={data}", f"val_data.root={data}", *([f"train.device={args.device}"] if args.device else []),
                     f"train.seed={seed}"]
        if name.startswith("ccssl"):
            overrides.append(f"ccssl.target_data.root={data}")
        if args.workers is not None:
            overrides.append(f"train.workers={args.workers}")
        if args.epochs is not None:
            overrides.append(f"train.epochs={args.epochs}")
        cfg = load_experiment(config, overrides + switches + list(args.overrides))
        spec = cfg.spec
        run_dir = os.path.join(args.out, "runs", name)
        print(f"[{step}/{total}] {name}: {what} -> {run_dir}")
        log = lambda s: print("      " + s)  # noqa: E731
        if name.startswith("ccssl"):
            # the demo owns OUT/runs: a second `make demo` retrains each run from scratch
            trainer = CCSSLTrainer(cfg, run_dir, source_checkpoint=source_ckpt, quiet=args.quiet, log=log,
                                   overwrite=True)
        else:
            trainer = Trainer(cfg, run_dir, quiet=args.quiet, log=log, overwrite=True)
        trainer.fit()
        # the final weights (not the best epoch: picking by test score would flatter the numbers)
        results[name] = trainer.last_val if trainer.last_val is not None else trainer.validate(cfg.train.epochs - 1)
        if name == "source_only":
            # visible joints only, as on the target, even when training supervises occluded ones
            synthetic_valid = build_source(dataclasses.replace(cfg.train_data, split="valid", occlusion_visible=False))
        if name in ("source_only", "oracle"):  # how much does the change of domain cost each model?
            domain[name] = {split: _box_pck(trainer, cfg, src) for split, src in
                            (("synthetic_valid", synthetic_valid), ("target_test", trainer.val_source))}
            log(f"PCK@0.05 of the keypoint box: {domain[name]['synthetic_valid']:.2f} on held-out synthetic "
                f"images, {domain[name]['target_test']:.2f} on the target test frames")
        if name.startswith("ccssl"):  # how good were its pseudo-labels? (the target labels CC-SSL never read)
            label_rounds[name] = score_rounds(cfg, sorted(glob.glob(os.path.join(run_dir, "ssl_labels", "round_*.npz"))),
                                              os.path.join(run_dir, "label_quality"))
            for r in label_rounds[name]:
                log(f"{r['round']}: {r['correct']}% of the labels right ({r['swapped']}% left/right swapped); "
                    f"kept {r['kept']}%, {r['kept_correct']}% of them right")
        seconds[name] = round(time.time() - t1, 1)
    print(f"[{total}/{total}] CC-SSL PCK@0.05 on the target test split -> {args.out}/report.*")
    paths = write_report(args.out, results, spec, stem="report", title="PCK@0.05 (CC-SSL protocol)")
    doc = report_json(results, spec)
    doc.update({"protocol": "ccssl", "dataset": "tigdog horse (rendered, demo preset)", "preset": args.preset,
                "seed": seed, "seconds": round(time.time() - t0, 1), "run_seconds": seconds,
                "gap_closed": gap_closed(doc["methods"]), "pseudo_labels": label_rounds,
                "domain_gap": {"metric": DOMAIN_METRIC, **domain}})
    with open(paths["json"], "w") as f:
        json.dump(doc, f, indent=1)
    with open(paths["md"], "a") as f:
        f.write(f"\n## Domain gap\n\n{DOMAIN_METRIC}, percent.\n\n| model | synthetic_valid | target_test |\n"
                "|---|---:|---:|\n" + "".join(f"| {n} | {d['synthetic_valid']:.2f} | {d['target_test']:.2f} |\n"
                                               for n, d in domain.items()))
        for name, rows in label_rounds.items():
            f.write(f"\n## Pseudo-labels of {name}, scored against the hidden target labels\n\n"
                    "Percent of the visible joints (kept_* of the kept ones, replaced_correct of those replaced "
                    "by optical flow); correct within 0.05 x the crop side.\n\n" + rounds_markdown(rows))
    print(format_table(results, spec, per_joint=True))
    for name, share in doc["gap_closed"].items():
        print(f"{name} closes {100 * share:.0f}% of the source_only -> oracle gap in mean PCK")
    print(f"done in {time.time() - t0:.0f} s; report: {paths['md']}")
    return 0


DOMAIN_METRIC = ("PCK@0.05 normalised by the longer side of the visible ground-truth joints' box (one definition "
                 "for both domains), on held-out synthetic images and on the target test frames")


def _box_pck(trainer, cfg, source) -> float:
    """Mean PCK@0.05 (percent) of a trained model on ``source``, normalised by the keypoint box."""
    from ..engine.evaluator import evaluate
    res = evaluate(trainer.model, source, "pck-bbox", trainer.codec, trainer.normalize, trainer.spec, trainer.device,
                   batch_size=cfg.eval.batch_size, alpha=0.05, warp=cfg.augment.warp, box="keypoints",
                   antialias=cfg.augment.antialias,
                   scale_dtype=cfg.augment.scale_dtype)
    return round(100.0 * res["mean"], 2)


def gap_closed(methods: dict) -> dict:
    """``(m - source_only) / (oracle - source_only)`` of the mean PCK for every adapted method ``m``."""
    lo, hi = methods["source_only"]["mean"], methods["oracle"]["mean"]
    if lo is None or hi is None or hi <= lo:
        return {}
    return {name: round((m["mean"] - lo) / (hi - lo), 4) for name, m in methods.items()
            if name not in ("source_only", "oracle") and m["mean"] is not None}
