"""``animalpose demo``: the main job on built-in data.

1. render the demo data in the real formats (reused when already there for
   the same preset and seed);
2. pretrain a small hourglass on the synthetic horses (source domain);
3. train the same network on the real-looking TigDog-format horses (target
   domain, the upper bound adaptation must approach);
4. evaluate both on the target test split with the exact CC-SSL PCK@0.05 and
   write ``OUT/report.json`` plus Markdown, CSV and PNG reports.
"""
from __future__ import annotations

import json
import os
import time

from ._common import add_runtime_options

METHODS = (("synthetic", "demo_synthetic", "pretrained on synthetic horses (source only)"),
           ("real", "demo_real", "trained on the target domain (upper bound)"))


def register(sub, formatter):
    p = sub.add_parser("demo", formatter_class=formatter, help="run the main job end to end on built-in data",
                       description="Render the built-in data (preset `demo`) in the real dataset formats into "
                                   "OUT/data, pretrain a small hourglass on the synthetic source domain, train the "
                                   "same network on the real-looking target domain, evaluate both with the exact "
                                   "CC-SSL PCK@0.05 on the target test split and write OUT/report.json, "
                                   "OUT/report.md, OUT/report.csv and OUT/report.png (runs in OUT/runs/).")
    p.add_argument("--preset", default="demo", choices=("tiny", "demo", "full"), help="data preset")
    p.add_argument("--epochs", type=int, default=None, help="training epochs per model (default: the configs')")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="config override applied to both demo runs (e.g. train.batch_size=8)")
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
    from evaluation import format_table, report_json, write_report
    from ..engine.config import load_experiment
    from ..engine.trainer import Trainer
    from .generate import run_generate

    t0 = time.time()
    seed = 0 if args.seed is None else args.seed
    data = os.path.join(args.out, "data")
    if _have_data(data, args.preset, seed):
        print(f"[1/4] reusing {args.preset} data in {data}")
    else:
        print(f"[1/4] rendering {args.preset} data into {data}")
        m = run_generate(args.preset, data, seed, args.workers or min(2, os.cpu_count() or 1),
                         ["synthetic", "tigdog"], args.quiet)
        print(f"      done in {m['seconds']} s")
    results = {}
    spec = None
    for step, (name, config, what) in enumerate(METHODS, start=2):
        overrides = [f"train_data.root={data}", f"val_data.root={data}", f"train.device={args.device}",
                     f"train.seed={seed}"]
        if args.workers is not None:
            overrides.append(f"train.workers={args.workers}")
        if args.epochs is not None:
            overrides.append(f"train.epochs={args.epochs}")
        cfg = load_experiment(config, overrides + list(args.overrides))
        spec = cfg.spec
        run_dir = os.path.join(args.out, "runs", name)
        print(f"[{step}/4] {name}: {what} -> {run_dir}")
        trainer = Trainer(cfg, run_dir, quiet=args.quiet, log=lambda s: print("      " + s))
        trainer.fit()
        # the final weights (not the best epoch: picking by test score would flatter the numbers)
        results[name] = trainer.last_val if trainer.last_val is not None else trainer.validate(cfg.train.epochs - 1)
    print(f"[4/4] CC-SSL PCK@0.05 on the target test split -> {args.out}/report.*")
    paths = write_report(args.out, results, spec, stem="report", title="PCK@0.05 (CC-SSL protocol)")
    doc = report_json(results, spec)
    doc.update({"protocol": "ccssl", "dataset": "tigdog horse (rendered, demo preset)", "preset": args.preset,
                "seed": seed, "seconds": round(time.time() - t0, 1)})
    with open(paths["json"], "w") as f:
        json.dump(doc, f, indent=1)
    print(format_table(results, spec, per_joint=True))
    print(f"done in {time.time() - t0:.0f} s; report: {paths['md']}")
    return 0

