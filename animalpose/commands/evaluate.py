"""``animalpose evaluate``: score a checkpoint with one of the evaluation protocols."""
from __future__ import annotations

import dataclasses
import json
import os

from ..engine.config import DATASETS
from ..engine.evaluator import PROTOCOLS
from ._common import add_runtime_options
from ._progress import Steps


def register(sub, formatter):
    p = sub.add_parser(
        "evaluate", formatter_class=formatter, help="evaluate a checkpoint (CC-SSL/UDA PCK, bbox PCK, COCO AP)",
        description="Evaluate a checkpoint on a dataset. Protocols: ccssl (exact CC-SSL PCK@0.05 at heatmap level, "
                    "batches of 6), uda (the same, joints whose 7x7 target leaves the map dropped), pck-bbox "
                    "(PCK@alpha in image pixels / longer bbox side, with AUC and EPE), coco (pycocotools AP/AR with "
                    "rescoring and OKS-NMS). Writes OUT/<stem>.md, .csv, .json and .png (per joint and per group) "
                    "or, for coco, OUT/coco_stats.json and OUT/keypoint_results.json; prints the table. Data "
                    "options default to the validation set stored in the checkpoint's config.")
    p.add_argument("--checkpoint", required=True, action="append",
                   help="checkpoint written by animalpose (best.pt / last.pt); repeat it to compare several "
                        "models in one report (same data, protocol and spec)")
    p.add_argument("--data", default=None, help="dataset root (the `animalpose generate` layout or a real download)")
    p.add_argument("--dataset", choices=DATASETS, default=None, help="dataset format")
    p.add_argument("--animal", default=None, help="species (synthetic_animal, tigdog)")
    p.add_argument("--split", default=None, help="split: test/train/all (tigdog), valid (synthetic), val2017 (coco)")
    p.add_argument("--crop", choices=("ccssl", "uda"), default=None, help="TigDog crop protocol")
    p.add_argument("--categories", nargs="+", default=None, help="Animal-Pose categories to keep")
    p.add_argument("--protocol", choices=PROTOCOLS, default=None, help="default: the config's eval.protocol")
    p.add_argument("--flip", action="store_true", help="flip test (the codec's convention)")
    p.add_argument("--batch-size", type=int, default=None,
                   help="evaluation batch size (the CC-SSL mean depends on it; reference 6)")
    p.add_argument("--alpha", type=float, default=None, help="pck-bbox threshold (fraction of the longer bbox side)")
    p.add_argument("--name", action="append", default=None,
                   help="method name in the report, one per --checkpoint (default: the config names)")
    p.add_argument("--stem", default="pck", help="file name stem of the report files")
    add_runtime_options(p, "runs/evaluate", seed=False)
    return p


def run(args) -> int:
    from evaluation import format_table, write_report
    from ..engine.data import build_source
    from ..engine.evaluator import evaluate
    from ..engine.inference import load_trained
    from ..engine.runtime import resolve_device

    names = args.name or []
    if names and len(names) != len(args.checkpoint):
        raise ValueError(f"--name given {len(names)} times for {len(args.checkpoint)} --checkpoint values")
    device = resolve_device(args.device)
    results, spec, protocol = {}, None, None
    for k, ckpt in enumerate(args.checkpoint):
        tm = load_trained(ckpt, device)
        cfg = tm.cfg
        if spec is not None and tm.spec.name != spec.name:
            raise ValueError(f"{ckpt}: spec {tm.spec.name} differs from the first checkpoint's {spec.name}")
        spec = tm.spec
        data = cfg.val_data or cfg.train_data
        changes = {key: v for key, v in (("root", args.data), ("dataset", args.dataset), ("animal", args.animal),
                                         ("split", args.split), ("crop", args.crop),
                                         ("categories", args.categories)) if v is not None}
        data = dataclasses.replace(data, **changes)
        protocol = args.protocol or cfg.eval.protocol
        batch = args.batch_size or cfg.eval.batch_size
        if batch < 1:
            raise ValueError(f"--batch-size must be >= 1, got {batch}")
        source = build_source(data)
        bar = Steps(f"evaluate {protocol}", len(source), args.quiet)
        try:
            result = evaluate(tm.model, source, protocol, tm.codec, tm.normalize, tm.spec, device, flip=args.flip,
                              batch_size=batch, workers=args.workers or 0,
                              alpha=args.alpha if args.alpha is not None else cfg.eval.alpha,
                              progress=bar.advance, warp=cfg.augment.warp)
        finally:
            bar.finish()
        name = names[k] if names else cfg.name
        if name in results:
            name = f"{name}_{k + 1}"
        results[name] = result
    os.makedirs(args.out, exist_ok=True)
    if protocol == "coco":
        from evaluation import write_results_json
        for name, result in results.items():
            suffix = "" if len(results) == 1 else f"_{name}"
            write_results_json(os.path.join(args.out, f"keypoint_results{suffix}.json"), result["results"])
        with open(os.path.join(args.out, "coco_stats.json"), "w") as f:
            json.dump({n: r["stats"] for n, r in results.items()}, f, indent=1)
        for name, result in results.items():
            print(name)
            for key, v in result["stats"].items():
                print(f"  {key:8s} {v:.3f}")
        return 0
    paths = write_report(args.out, results, spec, stem=args.stem)
    print(format_table(results, spec, per_joint=True))
    print("wrote " + ", ".join(sorted(paths.values())))
    return 0
