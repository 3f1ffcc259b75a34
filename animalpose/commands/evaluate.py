"""``animalpose evaluate``: score a checkpoint with one of the evaluation protocols."""
from __future__ import annotations

import dataclasses
import json
import os

from ..engine.config import DATASETS
from ..engine.evaluator import BOXES, PROTOCOLS
from ._common import add_runtime_options, check_number, file_stem
from ..progress import Steps


def register(sub, formatter):
    p = sub.add_parser(
        "evaluate", formatter_class=formatter,
        help="evaluate a checkpoint (CC-SSL/UDA PCK, bbox PCK, COCO / CrowdPose AP)",
        description="Evaluate a checkpoint on a dataset. Protocols: ccssl (exact CC-SSL PCK@0.05 at heatmap level, "
                    "batches of 6), uda (the same, joints whose 7x7 target leaves the map dropped), pck-bbox "
                    "(PCK@alpha in image pixels / longer bbox side, with AUC and EPE), coco (pycocotools AP/AR with "
                    "rescoring and OKS-NMS; on CrowdPose data the CrowdPose protocol and its nine stats). Writes "
                    "OUT/<stem>.md, .csv, .json and .png (per joint and per group) "
                    "or, for coco, OUT/coco_stats.json and OUT/keypoint_results.json; prints the table. Data "
                    "options default to the validation set stored in the checkpoint's config.")
    p.add_argument("--checkpoint", required=True, action="append",
                   help="checkpoint written by animalpose (best.pt / last.pt); repeat it to compare several "
                        "models in one report (same data, protocol and spec)")
    p.add_argument("--data", default=None, help="dataset root (the `animalpose generate` layout or a real download)")
    p.add_argument("--dataset", choices=DATASETS, default=None, help="dataset format (datasets.registry)")
    p.add_argument("--ann-file", default=None,
                   help="coco_keypoints (also coco / animalpose): the annotation JSON to evaluate on")
    p.add_argument("--images", default=None, help="image folder of --ann-file (default: found beside it)")
    p.add_argument("--animal", default=None, help="species (synthetic_animal, tigdog)")
    p.add_argument("--split", default=None,
                   help="split: test/train/all (tigdog), valid (synthetic), val2017 (coco), val/test (crowdpose)")
    p.add_argument("--crop", choices=("ccssl", "uda"), default=None, help="TigDog crop protocol")
    p.add_argument("--split-dir", default=None,
                   help="TigDog / synthetic split files: a folder, or 'official' (DATA/real_animal/<animal>/)")
    p.add_argument("--categories", nargs="+", default=None, help="Animal-Pose categories to keep")
    p.add_argument("--det-file", default=None,
                   help="coco / crowdpose top-down: person detections (COCO results JSON, e.g. "
                        "COCO_val2017_detections_AP_H_56_person.json) instead of ground-truth boxes")
    p.add_argument("--det-score-threshold", type=float, default=None,
                   help="coco / crowdpose top-down: drop detections scoring below this (reference IMAGE_THRE 0.0)")
    p.add_argument("--protocol", choices=PROTOCOLS, default=None, help="default: the config's eval.protocol")
    p.add_argument("--flip", action="store_true", help="flip test (the codec's convention)")
    p.add_argument("--batch-size", type=int, default=None,
                   help="evaluation batch size (the CC-SSL mean depends on it; reference 6)")
    p.add_argument("--alpha", type=float, default=None, help="pck-bbox threshold (fraction of the longer bbox side)")
    p.add_argument("--box", choices=BOXES, default="annotation",
                   help="pck-bbox normaliser: the dataset's box (synthetic: all mesh vertices; TigDog: the "
                        "annotated joints; Animal-Pose / COCO: the annotated box) or the tight box of the visible "
                        "ground-truth joints, the same definition for every dataset (to compare domains)")
    p.add_argument("--name", action="append", default=None,
                   help="method name in the report, one per --checkpoint (default: the config names)")
    p.add_argument("--stem", default="pck", help="file name stem of the report files")
    p.add_argument("--config", default=None,
                   help="experiment config (packaged name or YAML path) describing the model of a checkpoint that "
                        "was not written by animalpose, e.g. an official HRNet / SimpleBaseline / DEKR .pth")
    p.add_argument("--scales", type=float, nargs="+", default=None,
                   help="bottom-up (DEKR) test scales, e.g. 2 1 0.5 (must include 1; default: the config's)")
    p.add_argument("--rescore", default=None,
                   help="bottom-up (DEKR): rescore-net checkpoint (final_rescore_coco_kpt.pth, "
                        "final_rescore_crowd_pose_kpt.pth)")
    p.add_argument("--nms-threshold", type=float, default=None,
                   help="bottom-up pose-NMS threshold (x sqrt(area)); default: the codec's 0.05 with one scale, "
                        "bottomup.multi_scale_nms_threshold (0.15, the official multi-scale commands) with several")
    p.add_argument("--match-heatmap", choices=("on", "off"), default=None,
                   help="bottom-up (DEKR): snap the regressed joints to heatmap peaks and refine them by a Gaussian "
                        "fit (the reference's TEST.MATCH_HMP; default: the config's codec option match_heatmap)")
    add_runtime_options(p, "runs/evaluate", seed=False)
    return p


def run(args) -> int:
    from evaluation import format_table, write_report
    from ..engine.config import is_bottomup, load_experiment
    from ..engine.data import build_source
    from ..engine.evaluator import evaluate, keypoint_benchmark
    from ..engine.inference import load_trained
    from ..engine.runtime import resolve_device

    check_number(args.batch_size, "--batch-size", low=1)
    check_number(args.alpha, "--alpha", low=0, high=1, low_open=True)
    check_number(args.det_score_threshold, "--det-score-threshold", low=0, high=1)
    check_number(args.workers, "--workers", low=0)
    check_number(args.nms_threshold, "--nms-threshold", low=0, low_open=True)
    file_stem(args.stem)
    names = args.name or []
    for n in names:                                # a name becomes part of keypoint_results_<name>.json
        file_stem(n, "--name")
    if names and len(names) != len(args.checkpoint):
        raise ValueError(f"--name given {len(names)} times for {len(args.checkpoint)} --checkpoint values")
    device = resolve_device(args.device or "auto")
    results, spec, protocol, bench = {}, None, None, None
    config = load_experiment(args.config) if args.config else None
    for k, ckpt in enumerate(args.checkpoint):
        tm = load_trained(ckpt, device, config)
        cfg = tm.cfg
        if spec is not None and tm.spec.name != spec.name:
            raise ValueError(f"{ckpt}: spec {tm.spec.name} differs from the first checkpoint's {spec.name}")
        spec = tm.spec
        data = cfg.val_data or cfg.train_data
        changes = {key: v for key, v in (("root", args.data), ("dataset", args.dataset), ("animal", args.animal),
                                         ("split", args.split), ("crop", args.crop), ("split_dir", args.split_dir),
                                         ("categories", args.categories), ("det_file", args.det_file),
                                         ("ann_file", args.ann_file), ("img_dir", args.images),
                                         ("det_score_threshold", args.det_score_threshold)) if v is not None}
        if args.dataset and args.dataset != data.dataset:     # another format: none of the stored one's options
            from ..engine.config import DataConfig
            data = DataConfig(dataset=args.dataset, root=data.root)
        data = dataclasses.replace(data, **changes)
        protocol = args.protocol or cfg.eval.protocol
        batch = args.batch_size if args.batch_size is not None else cfg.eval.batch_size
        source = build_source(data, aspect_ratio=tm.codec.input_size[0] / tm.codec.input_size[1])
        if is_bottomup(cfg) or protocol == "coco":
            b = keypoint_benchmark(source)
            if bench is not None and b is not bench:
                raise ValueError(f"{ckpt}: its data is scored by the {b.title} protocol, the first checkpoint's "
                                 f"by the {bench.title} one; give the same data (--dataset, --data) to compare")
            bench = b
        if is_bottomup(cfg):
            result = _evaluate_bottomup(tm, source, device, args)
            protocol = "coco"
            name = names[k] if names else cfg.name
            results[f"{name}_{k + 1}" if name in results else name] = result
            continue
        bar = Steps(f"evaluate {protocol}", len(source), args.quiet)
        try:
            result = evaluate(tm.model, source, protocol, tm.codec, tm.normalize, tm.spec, device, flip=args.flip,
                              batch_size=batch, workers=args.workers or 0,
                              alpha=args.alpha if args.alpha is not None else cfg.eval.alpha, box=args.box,
                              progress=bar.advance, warp=cfg.augment.warp, antialias=cfg.augment.antialias,
                   scale_dtype=cfg.augment.scale_dtype)
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
        from evaluation import format_stats_table
        print(format_stats_table({n: r["stats"] for n, r in results.items()}, bench.stat_names))
        return 0
    paths = write_report(args.out, results, spec, stem=args.stem)
    print(format_table(results, spec, per_joint=True))
    print("wrote " + ", ".join(sorted(paths.values())))
    return 0


def _evaluate_bottomup(tm, source, device, args):
    """COCO / CrowdPose AP of a bottom-up (DEKR) model on every image of ``source``."""
    from ..engine.bottomup import coco_images, evaluate_bottomup, load_rescore_net, settings
    from ..engine.evaluator import keypoint_benchmark
    b = settings(tm.cfg)
    scales = args.scales or b.test_scales
    if 1.0 not in [float(s) for s in scales]:
        raise ValueError(f"--scales must include 1, got {scales}")
    flip = args.flip
    if args.nms_threshold is not None:
        tm.codec.nms_threshold = args.nms_threshold
    elif len(scales) > 1:                     # the official multi-scale commands: TEST.NMS_THRE 0.15
        tm.codec.nms_threshold = b.multi_scale_nms_threshold
    if not args.quiet:
        print(f"bottom-up test: scales {list(scales)}, pose-NMS threshold {tm.codec.nms_threshold:g}")
    if args.match_heatmap is not None:
        tm.codec.match_heatmap = args.match_heatmap == "on"
    _, ids = coco_images(source)
    bar = Steps(f"evaluate {keypoint_benchmark(source).name} (bottom-up)", len(ids), args.quiet)
    try:
        return evaluate_bottomup(tm.model, source, tm.codec, tm.normalize, tm.spec, device, flip=flip, scales=scales,
                                 flip_shift=b.flip_shift,
                                 rescore_net=load_rescore_net(args.rescore or b.rescore, tm.spec, device),
                                 progress=bar.advance)
    finally:
        bar.finish()
