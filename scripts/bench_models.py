"""``python scripts/bench.py models``: CPU throughput of every registered model at its paper input size.

    python scripts/bench.py models [--models hourglass simplebaseline_res50 ...] [--batch 1]
                                   [--iters 3] [--max-seconds 15] [--threads N] [--forward-only]
                                   [--channels-last]

For each model: parameter count, forward images/s (eval mode, no grad) and forward+backward
images/s (train mode, loss = sum of the outputs' means), each from the fastest of ``--iters`` timed
calls after one warm-up, and both times as a ratio of the first model measured in the same process (so the figures compare across machines).  Input sizes are the
papers': stacked hourglass 256x256 with 18 joints (CC-SSL); SimpleBaseline and HRNet 256x192
(W x H = 192 x 256) with 17 joints; DEKR-W32 512x512 and DEKR-W48 640x640.  The DEKR rescore net
(not an image model) is skipped.  A model that fails to build or run is reported and skipped.
``--channels-last`` also times each model with NHWC weights (``train.channels_last``, the engine's
default) and prints the speed-up over the NCHW run of the same model in the same process.
"""
from __future__ import annotations

import os
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Preferred order when --models is not given: the cheapest well-known model first (the baseline).
_ORDER = ["hourglass", "simplebaseline_res50", "simplebaseline_res101", "simplebaseline_res152",
          "hrnet_w32", "hrnet_w48", "dekr_w32", "dekr_w48"]


def paper_input(name):
    """``(width, height, num_joints)`` of ``name`` in its paper, or ``None`` when not an image model."""
    if "rescore" in name:
        return None
    if name.startswith("hourglass"):
        return 256, 256, 18
    if name.startswith(("simplebaseline", "hrnet")):
        return 192, 256, 17
    if name.startswith("dekr"):
        return (640, 640, 17) if "w48" in name else (512, 512, 17)
    return 256, 256, 17


def _tensors(out):
    if hasattr(out, "shape"):
        return [out]
    if isinstance(out, dict):
        out = list(out.values())
    if isinstance(out, (list, tuple)):
        return [t for o in out for t in _tensors(o)]
    return []


def _timed(fn, iters, max_seconds):
    """``(seconds per call, warmed)``: the fastest of up to ``iters`` calls after one warm-up (the
    minimum is the least disturbed by other load on the machine).  Stops early, after at least one
    timed call, once ``max_seconds`` are spent; when the warm-up call alone takes longer than
    ``max_seconds`` (DEKR training on CPU) its time is returned with ``warmed=False``, so the slowest
    models keep the whole bench to a few minutes."""
    t0 = time.perf_counter()
    fn()  # warm-up (allocator, oneDNN primitive caches)
    warm = time.perf_counter() - t0
    if warm > max_seconds:
        return warm, False
    t0 = time.perf_counter()
    best = float("inf")
    for _ in range(iters):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
        if time.perf_counter() - t0 > max_seconds:
            break
    return best, True


def bench_one(name, batch, iters, forward_only, max_seconds=15.0, channels_last=False):
    import torch
    from animalpose.models import build_model

    w, h, k = paper_input(name)
    torch.manual_seed(0)
    model = build_model(name, k)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    params = sum(p.numel() for p in model.parameters())
    x = torch.randn(batch, 3, h, w)

    def forward():
        with torch.no_grad():
            model(x)

    def train_step():
        model.zero_grad(set_to_none=True)
        loss = sum(t.float().mean() for t in _tensors(model(x)))
        loss.backward()

    model.eval()
    t_fwd, warm_fwd = _timed(forward, iters, max_seconds)
    t_train, warm_train = None, True
    if not forward_only:
        model.train()
        t_train, warm_train = _timed(train_step, iters, max_seconds)
    return {"input": f"{w}x{h}", "joints": k, "params": params, "fwd": t_fwd, "train": t_train,
            "warm": warm_fwd and warm_train}


def bench_models(args):
    import torch
    from animalpose.models import list_models

    if args.threads:
        torch.set_num_threads(args.threads)
    registered = list_models()
    if args.models:
        names = args.models
    else:
        names = [n for n in _ORDER if n in registered] + [n for n in registered if n not in _ORDER]
    print(f"model throughput on CPU, batch {args.batch}, best of up to {args.iters} timed iterations "
          f"(<= {args.max_seconds:g} s) after 1 warm-up, "
          f"{torch.get_num_threads()} threads, torch {torch.__version__}")
    print(f"{'model':22s} {'input':>8s} {'K':>3s} {'params':>12s} {'fwd img/s':>10s} {'train img/s':>12s} "
          f"{'fwd x base':>11s} {'train x base':>13s}")
    base, cold = None, False
    for name in names:
        if name not in registered:
            print(f"{name:22s} unknown model (registered: {', '.join(registered)})")
            continue
        if paper_input(name) is None:
            print(f"{name:22s} skipped: not an image model")
            continue
        try:
            r = bench_one(name, args.batch, args.iters, args.forward_only, args.max_seconds)
            nhwc = (bench_one(name, args.batch, args.iters, args.forward_only, args.max_seconds, channels_last=True)
                    if args.channels_last else None)
        except Exception as e:  # report and carry on with the other models
            last = traceback.extract_tb(e.__traceback__)[-1]
            print(f"{name:22s} FAILED: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''} "
                  f"({os.path.basename(last.filename)}:{last.lineno})")
            continue
        base = base or r
        cold = cold or not r["warm"]
        mark = "" if r["warm"] else "  ~"
        train = f"{args.batch / r['train']:12.2f}" if r["train"] else f"{'-':>12s}"
        train_x = (f"{r['train'] / base['train']:13.2f}" if r["train"] and base["train"] else f"{'-':>13s}")
        print(f"{name:22s} {r['input']:>8s} {r['joints']:3d} {r['params']:12,d} {args.batch / r['fwd']:10.2f} "
              f"{train} {r['fwd'] / base['fwd']:11.2f} {train_x}{mark}", flush=True)
        if nhwc is not None:
            speed = f"fwd {r['fwd'] / nhwc['fwd']:.2f}x"
            if r["train"]:
                speed += f", train {r['train'] / nhwc['train']:.2f}x"
            print(f"{'':22s} channels_last (NHWC) speed-up over NCHW: {speed}{'' if nhwc['warm'] else '  ~'}",
                  flush=True)
            cold = cold or not nhwc["warm"]
    if cold:
        print(f"~ a warm-up call alone took over --max-seconds {args.max_seconds:g}: that call's time is shown "
              f"(an upper bound; raise --max-seconds for a warmed figure)")


def register(sub):
    p = sub.add_parser("models", help="CPU throughput and size of each registered model at its paper input size")
    p.add_argument("--models", nargs="+", metavar="NAME", default=None,
                   help="models to run, in this order (default: every registered model; the first is the baseline)")
    p.add_argument("--batch", type=int, default=1, help="images per forward pass")
    p.add_argument("--iters", type=int, default=3, help="timed iterations per measurement (after 1 warm-up)")
    p.add_argument("--max-seconds", type=float, default=15.0,
                   help="stop a measurement's timed iterations early once this many seconds are spent (min 1 iteration)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--forward-only", action="store_true", help="skip the forward+backward measurement")
    p.add_argument("--channels-last", action="store_true",
                   help="also time each model with NHWC (channels_last) weights and print its speed-up over NCHW")
    p.set_defaults(fn=bench_models)
    return p
