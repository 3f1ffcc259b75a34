#!/usr/bin/env python
"""Human-to-animal transfer on a held-out species: the four rows of the WS-CDA comparison.

    python scripts/wscda_experiment.py --out runs/wscda [--config wscda_demo] [--data DIR] [--species horse]
                                       [--set KEY=VALUE ...] [--device auto] [--threads N] [--quiet]

(a) ``animal_only``  - the labelled animal species only (no humans, no target stream, no discriminator);
(b) ``with_human``   - + the pose-labelled humans (mapped into the animal joints), no adaptation;
(c) ``wscda``        - + unlabelled target-species boxes and the adversarial domain discriminator;
(d) ``wscda_pplo``   - (c) refined with progressive pseudo-labels on the target species.

All four are trained by ``animalpose adapt`` from the same config (same network, steps, seed) and
evaluated (last epoch, no model selection on the test split) on the held-out part of the target species
with per-joint PCK@``eval.alpha`` (bbox-normalised) and COCO OKS AP (the spec's sigmas).  Writes
``OUT/report.{json,md,csv,png}`` and ``OUT/<method>/`` run folders; ``report.json`` holds, per method,
``mean``, ``per_joint``, ``groups`` (percent) and ``ap`` (percent; ``ap_stats`` all ten COCO numbers).
Without ``--data`` the built-in ``demo`` data is rendered into ``OUT/data`` first (``--preset``).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

METHODS = ("animal_only", "with_human", "wscda", "wscda_pplo")
BASELINE_SETS = {
    "animal_only": ["wscda.use_human=false", "wscda.use_target=false", "wscda.adversarial=false"],
    "with_human": ["wscda.use_target=false", "wscda.adversarial=false"],
    "wscda": [],
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="runs/wscda")
    p.add_argument("--config", default="wscda_demo", help="config with a `wscda` section")
    p.add_argument("--data", default=None, help="data root (animalpose/ and coco/); default: render OUT/data")
    p.add_argument("--preset", default="demo", help="preset rendered when --data is not given")
    p.add_argument("--species", default=None, help="held-out species (default: the config's target)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="config override for every run (repeatable)")
    p.add_argument("--device", default="auto")
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads (default: torch's); on a shared CPU 1 is often faster")
    p.add_argument("--quiet", action="store_true")
    return p.parse_args(argv)


def _fmt(v, d=2):
    return "-" if v is None else f"{v:.{d}f}"


def write_outputs(out: str, results: dict, spec: str, alpha: float, species: str, meta: dict) -> dict:
    """report.{json,md,csv,png} from ``{method: {"pck": pck-bbox result, "coco": {"AP", "stats"}}}``."""
    from evaluation.report import group_label, markdown_report, method_scores, plot_bars, report_json
    pck = {m: r["pck"] for m, r in results.items()}
    doc = report_json(pck, spec)
    for m, r in results.items():
        stats = r["coco"]["stats"]
        doc["methods"][m]["ap"] = 100.0 * float(r["coco"]["AP"])
        doc["methods"][m]["ap_stats"] = {k: (100.0 * float(v) if float(v) >= 0 else None) for k, v in stats.items()}
    doc.update({"metric": f"PCK@{alpha:g} (longer bbox side), COCO OKS AP ({spec} sigmas)",
                "held_out_species": species, **meta})
    paths = {k: os.path.join(out, f"report.{k}") for k in ("json", "md", "csv", "png")}
    with open(paths["json"], "w") as f:
        json.dump(doc, f, indent=2)
    scores = {m: method_scores(r, spec) for m, r in pck.items()}
    groups = list(next(iter(scores.values()))["groups"])
    joints = list(next(iter(scores.values()))["per_joint"])
    head = ["Method", f"Mean PCK@{alpha:g}", "AP", "AP .5"] + [group_label(g) for g in groups]
    rows = []
    for m in results:
        j = doc["methods"][m]
        rows.append([m, _fmt(j["mean"]), _fmt(j["ap"]), _fmt(j["ap_stats"].get("AP .5"))]
                    + [_fmt(j["groups"][g]) for g in groups])
    table = "\n".join(["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
                      + ["| " + " | ".join(r) + " |" for r in rows])
    md = [f"# Human-to-animal transfer, held-out species: {species}", "",
          f"PCK@{alpha:g} of the longer bbox side and COCO OKS AP ({spec} sigmas), percent; "
          f"{meta.get('test_instances', '?')} test instances.", "", table, "",
          markdown_report(pck, spec, title=f"PCK@{alpha:g} per joint").split("\n", 1)[1]]
    with open(paths["md"], "w") as f:
        f.write("\n".join(md))
    with open(paths["csv"], "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["method", "mean", "ap", "ap50"] + [f"group:{g}" for g in groups] + [f"joint:{j}" for j in joints])
        for m in results:
            j = doc["methods"][m]
            vals = [j["mean"], j["ap"], j["ap_stats"].get("AP .5")] + [j["groups"][g] for g in groups] \
                + [j["per_joint"][k] for k in joints]
            w.writerow([m] + ["" if v is None else f"{v:.4f}" for v in vals])
    plot_bars(paths["png"], pck, spec, title=f"PCK@{alpha:g} on held-out {species}")
    return {"table": table, **paths}


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch
    from animalpose.cli import main as cli
    from animalpose.engine.inference import load_trained
    from wscda.config import load_wscda_experiment
    from wscda.data import target_split
    from wscda.evaluate import evaluate_species

    if args.threads:
        torch.set_num_threads(args.threads)
    t_start = time.time()
    os.makedirs(args.out, exist_ok=True)
    data = args.data
    if data is None:
        data = os.path.join(args.out, "data")
        if not os.path.isfile(os.path.join(data, "animalpose", "keypoints.json")):
            print(f"== rendering the {args.preset} data into {data}", flush=True)
            if cli(["generate", "--preset", args.preset, "--out", data, "--only", "animalpose", "coco"]) != 0:
                return 1
    sets = [f"train_data.root={data}", f"wscda.human_data.root={data}", f"wscda.target_data.root={data}"]
    if args.species:
        sets += [f"train_data.exclude=[{args.species}]", f"wscda.target_data.categories=[{args.species}]"]
    sets += list(args.overrides)
    cfg, wcfg = load_wscda_experiment(args.config, sets)
    species = ",".join(wcfg.target_data.categories) or "target"
    common = ["--config", args.config, "--device", args.device]
    for s in sets:
        common += ["--set", s]
    if args.workers is not None:
        common += ["--workers", str(args.workers)]
    if args.quiet:
        common.append("--quiet")
    seconds = {}
    for m in ("animal_only", "with_human", "wscda"):
        print(f"== {m}", flush=True)
        t0 = time.time()
        extra = [x for s in BASELINE_SETS[m] for x in ("--set", s)]
        if cli(["adapt", "--method", "wscda", *common, *extra, "--out", os.path.join(args.out, m)]) != 0:
            return 1
        seconds[m] = round(time.time() - t0, 1)
    print("== wscda_pplo", flush=True)
    t0 = time.time()
    if cli(["adapt", "--method", "pplo", *common, "--source", os.path.join(args.out, "wscda", "last.pt"),
            "--out", os.path.join(args.out, "wscda_pplo")]) != 0:
        return 1
    seconds["wscda_pplo"] = round(time.time() - t0, 1)

    print("== evaluation", flush=True)
    device = torch.device("cuda" if args.device in ("auto", "cuda") and torch.cuda.is_available() else
                          ("cpu" if args.device == "auto" else args.device))
    _, test = target_split(wcfg, cfg.codec.input_size)
    results = {}
    for m in METHODS:
        tm = load_trained(os.path.join(args.out, m, "last.pt"), device)
        results[m] = evaluate_species(tm.model, test, tm.spec, tm.codec, tm.normalize, device, flip=cfg.eval.flip,
                                      alpha=cfg.eval.alpha, warp=tm.cfg.augment.warp,
                                      batch_size=cfg.eval.batch_size)
    total = round(time.time() - t_start, 1)
    meta = {"config": args.config, "overrides": sets, "threads": torch.get_num_threads(), "test_instances": len(test), "seconds": seconds,
            "total_seconds": total}
    paths = write_outputs(args.out, results, cfg.spec, cfg.eval.alpha, species, meta)
    print(paths["table"])
    print(f"report: {paths['md']} (also .json, .csv, .png); {total:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
