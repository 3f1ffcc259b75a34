"""``animalpose rescore``: train DEKR's rescore net from a trained bottom-up model, as the official code does."""
from __future__ import annotations

import dataclasses
import json
import os

import numpy as np

from ._common import add_runtime_options, check_number
from ..progress import Steps


def register(sub, formatter):
    from ..engine.rescore import RESCORE_RECIPE as R
    p = sub.add_parser(
        "rescore", formatter_class=formatter, help="train the DEKR rescore net of a bottom-up checkpoint",
        description="Train DEKR's pose rescoring net the way the official valid.py (RESCORE.GET_DATA) and "
                    "train_scorenet.py do. (1) The bottom-up model predicts every training image (flip test, "
                    "one scale, no rescoring); each pose's target is its best OKS against the ground truth, "
                    "recorded once per COCO area range (see docs/reproduction.md). (2) The MLP trains on them "
                    f"(Adam lr {R['lr']:g}, {R['epochs']} epochs, batch {R['batch_size']}, MSE, targets of 1.0 "
                    "set to 0). Writes OUT/rescore_data.npz (poses, oks), OUT/rescore_net.pth (an l1/l2/l3 state "
                    "dict like final_rescore_coco_kpt.pth; give it to evaluate/predict with --rescore or "
                    "bottomup.rescore) and OUT/rescore_losses.json.")
    p.add_argument("--checkpoint", default=None, help="bottom-up (DEKR) checkpoint the data is generated with")
    p.add_argument("--config", default=None,
                   help="experiment config of a checkpoint not written by animalpose (e.g. the official DEKR .pth)")
    p.add_argument("--data-file", default=None,
                   help="train on this rescore_data.npz (written by an earlier run) instead of generating data; "
                        "then --spec names the joints")
    p.add_argument("--spec", default=None, help="with --data-file: the keypoint spec of its poses (e.g. coco17)")
    p.add_argument("--data", default=None, help="dataset root (default: the checkpoint's training data)")
    p.add_argument("--ann-file", default=None, help="annotation JSON to generate the data on "
                                                    "(default: the training set's; the official uses train2017)")
    p.add_argument("--images", default=None, help="image folder of --ann-file (default: found beside it)")
    p.add_argument("--split", default=None, help="split of the dataset (default: the training split)")
    p.add_argument("--max-images", type=int, default=None,
                   help="generate data on the first N images only (a quick check; the official uses all)")
    p.add_argument("--no-flip", action="store_true", help="predict without the flip test (the official uses it)")
    p.add_argument("--epochs", type=int, default=R["epochs"], help="training epochs (RESCORE.END_EPOCH)")
    p.add_argument("--lr", type=float, default=R["lr"], help="Adam learning rate (RESCORE.LR)")
    p.add_argument("--batch-size", type=int, default=R["batch_size"],
                   help="batch size (RESCORE.BATCHSIZE); the remainder of each epoch is dropped, as officially")
    p.add_argument("--hidden", type=int, default=R["hidden"], help="hidden width (RESCORE.HIDDEN_LAYER)")
    p.add_argument("--keep-oks-one", action="store_true",
                   help="keep targets of exactly 1.0 (the official loader sets them to 0)")
    add_runtime_options(p, "runs/rescore")
    return p


def _check(args) -> None:
    check_number(args.epochs, "--epochs", low=1, integer=True)
    check_number(args.batch_size, "--batch-size", low=1, integer=True)
    check_number(args.hidden, "--hidden", low=1, integer=True)
    check_number(args.lr, "--lr", low=0, low_open=True)
    check_number(args.max_images, "--max-images", low=1, integer=True)
    check_number(args.workers, "--workers", low=0)
    if bool(args.checkpoint) == bool(args.data_file):
        raise ValueError("give exactly one of --checkpoint (generate the data) and --data-file (train on saved data)")
    if args.data_file and not args.spec:
        raise ValueError("--data-file needs --spec (the joint set of its poses, e.g. coco17)")
    if args.data_file and not os.path.isfile(args.data_file):
        raise FileNotFoundError(f"--data-file {args.data_file}: no such file")


def _generate(args, device):
    from ..engine.bottomup import coco_images, settings
    from ..engine.config import is_bottomup, load_experiment
    from ..engine.data import build_source
    from ..engine.inference import load_trained
    from ..engine.rescore import RESCORE_RECIPE, rescore_data
    tm = load_trained(args.checkpoint, device, load_experiment(args.config) if args.config else None)
    if not is_bottomup(tm.cfg):
        raise ValueError(f"{args.checkpoint}: not a bottom-up (DEKR) model; the rescore net scores DEKR poses")
    data = tm.cfg.train_data
    changes = {k: v for k, v in (("root", args.data), ("ann_file", args.ann_file), ("img_dir", args.images),
                                 ("split", args.split)) if v is not None}
    data = dataclasses.replace(data, **changes)
    source = build_source(data, aspect_ratio=tm.codec.input_size[0] / tm.codec.input_size[1])
    b = settings(tm.cfg)
    tm.codec.nms_threshold = RESCORE_RECIPE["nms_threshold"]
    n = len(coco_images(source)[1])
    n = n if args.max_images is None else min(n, args.max_images)
    bar = Steps("rescore data", n, args.quiet)
    try:
        res = rescore_data(tm.model, source, tm.codec, tm.normalize, tm.spec, device, flip=not args.no_flip,
                           scales=RESCORE_RECIPE["scales"], flip_shift=b.flip_shift, max_images=args.max_images,
                           progress=bar.advance)
    finally:
        bar.finish()
    return res, tm.spec.name


def run(args) -> int:
    import torch
    from ..atomic import atomic_write
    from ..engine.rescore import fit_rescore_net
    from ..engine.runtime import resolve_device
    from ..keypoints import get_spec
    _check(args)
    device = resolve_device(args.device or "auto")
    os.makedirs(args.out, exist_ok=True)
    if args.data_file:
        with np.load(args.data_file) as z:
            if "poses" not in z or "oks" not in z:
                raise ValueError(f"--data-file {args.data_file}: needs arrays 'poses' and 'oks'")
            poses, oks = z["poses"], z["oks"]
        spec = get_spec(args.spec).name
        if poses.ndim != 3 or poses.shape[1] != get_spec(spec).num_joints:
            raise ValueError(f"--data-file {args.data_file}: poses {poses.shape} do not have the "
                             f"{get_spec(spec).num_joints} joints of --spec {spec}")
        images = None
    else:
        res, spec = _generate(args, device)
        poses, oks, images = res["poses"], res["oks"], res["images"]
        path = os.path.join(args.out, "rescore_data.npz")
        atomic_write(path, lambda f: np.savez(f, poses=poses, oks=oks, spec=np.array(spec)))
        if not args.quiet:
            print(f"rescore data: {len(oks)} samples from {images} images (mean target {oks.mean():.3f}); "
                  f"wrote {path}")
    if len(oks) == 0:
        raise ValueError("rescore data: no sample (no image has both ground truth and a detected pose)")
    seed = 0 if args.seed is None else args.seed

    def log(epoch, loss):
        if not args.quiet:
            print(f"epoch {epoch:3d}  train loss {loss:.6f}")

    net, losses = fit_rescore_net(poses, oks, spec, epochs=args.epochs, lr=args.lr, batch_size=args.batch_size,
                                  hidden=args.hidden, one_to_zero=not args.keep_oks_one, seed=seed,
                                  device=device, log=log)
    state = {k: v.detach().cpu() for k, v in net.state_dict().items()}
    out = os.path.join(args.out, "rescore_net.pth")
    atomic_write(out, lambda f: torch.save(state, f))
    summary = {"spec": spec, "samples": int(len(oks)), "images": images, "epochs": args.epochs, "lr": args.lr,
               "batch_size": args.batch_size, "hidden": args.hidden, "one_to_zero": not args.keep_oks_one,
               "seed": seed, "losses": losses}
    atomic_write(os.path.join(args.out, "rescore_losses.json"),
                 lambda f: f.write(json.dumps(summary, indent=1)), binary=False)
    print(f"rescore net: final train loss {losses[-1]:.6f} after {args.epochs} epochs on {len(oks)} samples; "
          f"wrote {out} (use it with --rescore {out})")
    return 0
