"""``python scripts/bench.py codecs [--n 32] [--joints 17] [--heatmap 48 64] [--repeat 20]``

Throughput of the batched MSRA encode and DARK decode of
:mod:`animalpose.codecs` against straightforward per-joint loops (the way the
reference code is written: one window paste, or one ``cv2.GaussianBlur`` and
one Taylor step, per map), run in the same process on the same data.  Prints
ms per batch, maps per second, the speed-up (target >= 10x) and the largest
difference between the two results (target <= 1e-4 input px).

The loop implementations below are also the test oracle of
``tests/test_codecs.py``.
"""
from __future__ import annotations

import os
import sys
import time

import cv2
import numpy as np

SPEEDUP_TARGET = 10.0
TOLERANCE_PX = 1e-4


# --------------------------------------------------------------------------- per-joint loop references
def loop_msra_encode(keypoints, visibility, input_size, heatmap_size, sigma=2.0):
    """HRNet ``generate_target`` written joint by joint: ``(N, K, 2)`` input px,
    ``(N, K)`` visibility -> ``heatmaps (N, K, H, W)`` float32, ``weights (N, K)``."""
    kp = np.asarray(keypoints, np.float64)
    vis = np.asarray(visibility, np.float64)
    n, k = kp.shape[:2]
    w, h = heatmap_size
    stride = np.asarray(input_size, np.float64) / np.asarray(heatmap_size, np.float64)
    radius = 3 * sigma
    heatmaps = np.zeros((n, k, h, w), np.float32)
    weights = np.zeros((n, k), np.float32)
    for i in range(n):
        for j in range(k):
            cx = int(kp[i, j, 0] / stride[0] + 0.5)
            cy = int(kp[i, j, 1] / stride[1] + 0.5)
            left, top = int(cx - radius), int(cy - radius)
            right, bottom = int(cx + radius + 1), int(cy + radius + 1)
            if left >= w or top >= h or right < 0 or bottom < 0:
                continue                                   # weight stays 0
            weight = min(max(vis[i, j], 0.0), 1.0)
            weights[i, j] = weight
            if weight <= 0.5:
                continue
            size = 2 * radius + 1                          # HRNet: a float32 arange, Python-float centre
            x = np.arange(0, size, 1, np.float32)
            y = x[:, None]
            x0 = y0 = size // 2
            patch = np.exp(-((x - x0) ** 2 + (y - y0) ** 2) / (2 * sigma ** 2))
            x0, x1 = max(0, left), min(right, w)
            y0, y1 = max(0, top), min(bottom, h)
            heatmaps[i, j, y0:y1, x0:x1] = patch[y0 - top:y1 - top, x0 - left:x1 - left]
    return heatmaps, weights


def loop_dark_decode(heatmaps, kernel_size=11):
    """DarkPose decode written map by map: argmax, zero-padded ``cv2.GaussianBlur``,
    rescale to the raw max, log, Taylor step.  ``(N, K, H, W)`` ->
    ``keypoints (N, K, 2)`` in heatmap px, ``scores (N, K)``."""
    hm = np.asarray(heatmaps, np.float32)
    n, k, h, w = hm.shape
    b = (kernel_size - 1) // 2
    coords = np.zeros((n, k, 2))
    scores = np.zeros((n, k), np.float32)
    for i in range(n):
        for j in range(k):
            m = hm[i, j]
            idx = int(np.argmax(m))
            peak = m.reshape(-1)[idx]
            x, y = (idx % w, idx // w) if peak > 0 else (0, 0)
            scores[i, j] = peak
            padded = np.zeros((h + 2 * b, w + 2 * b), np.float32)
            padded[b:b + h, b:b + w] = m
            blurred = cv2.GaussianBlur(padded, (kernel_size, kernel_size), 0)[b:b + h, b:b + w]
            with np.errstate(divide="ignore", invalid="ignore"):   # all-zero maps: 0 / 0, as the reference
                blurred = blurred * (m.max() / blurred.max())
            lg = np.log(np.maximum(blurred, 1e-10))
            fx, fy = float(x), float(y)
            if 1 < x < w - 2 and 1 < y < h - 2:
                dx = 0.5 * (lg[y, x + 1] - lg[y, x - 1])
                dy = 0.5 * (lg[y + 1, x] - lg[y - 1, x])
                dxx = 0.25 * (lg[y, x + 2] - 2 * lg[y, x] + lg[y, x - 2])
                dyy = 0.25 * (lg[y + 2, x] - 2 * lg[y, x] + lg[y - 2, x])
                dxy = 0.25 * (lg[y + 1, x + 1] - lg[y - 1, x + 1] - lg[y + 1, x - 1] + lg[y - 1, x - 1])
                hessian = np.array([[dxx, dxy], [dxy, dyy]], np.float64)
                if np.linalg.det(hessian) != 0:
                    step = -np.linalg.inv(hessian) @ np.array([dx, dy], np.float64)
                    fx, fy = fx + step[0], fy + step[1]
            coords[i, j] = fx, fy
    return coords, scores


# --------------------------------------------------------------------------- data
def make_data(n, joints, heatmap_size, input_size, sigma=2.0, seed=0):
    """Random keypoints ``(n, joints, 2)`` (input px, a margin from the border),
    visibility (about 10 % zeros) and network-like heatmaps for decoding:
    float-centred Gaussians with random peak heights plus noise."""
    rng = np.random.default_rng(seed)
    w, h = heatmap_size
    kp = rng.uniform(0.05, 0.95, (n, joints, 2)) * np.asarray(input_size, np.float64)
    vis = (rng.random((n, joints)) > 0.1).astype(np.float64) * rng.choice([1, 2], (n, joints))
    c = kp * (np.array([w, h], np.float64) / np.asarray(input_size, np.float64))
    gx = np.exp(-(np.arange(w) - c[..., 0, None]) ** 2 / (2 * sigma ** 2))
    gy = np.exp(-(np.arange(h) - c[..., 1, None]) ** 2 / (2 * sigma ** 2))
    amp = rng.uniform(0.3, 1.0, (n, joints, 1, 1))
    maps = amp * gy[..., :, None] * gx[..., None, :] + rng.normal(0, 0.01, (n, joints, h, w))
    return kp, vis, maps.astype(np.float32)


def _time_pair(loop, batched, repeat, rounds=5):
    """Median seconds per call of ``loop`` and ``batched``.  The two run in
    alternating rounds (a warm-up call, then ``repeat / rounds`` timed calls of
    each per round), so both are timed warm and under the same machine load."""
    times = {loop: [], batched: []}
    for _ in range(rounds):
        for fn in (loop, batched):
            fn()
            for _ in range(max(1, repeat // rounds)):
                t = time.perf_counter()
                fn()
                times[fn].append(time.perf_counter() - t)
    return float(np.median(times[loop])), float(np.median(times[batched]))


# --------------------------------------------------------------------------- command
def bench_codecs(args):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from animalpose.codecs import DarkHeatmap, MSRAHeatmap

    hw = tuple(args.heatmap)
    inp = tuple(args.input) if args.input else (hw[0] * 4, hw[1] * 4)
    n, k = args.n, args.joints
    kp, vis, maps = make_data(n, k, hw, inp, args.sigma, args.seed)
    msra = MSRAHeatmap(inp, hw, args.sigma)
    dark = DarkHeatmap(inp, hw, args.sigma, blur_kernel_size=args.kernel)

    rows = []
    ref_hm, ref_w = loop_msra_encode(kp, vis, inp, hw, args.sigma)
    out = msra.encode(kp, vis)
    diff = max(float(np.abs(out["heatmaps"] - ref_hm).max()), float(np.abs(out["weights"] - ref_w).max()))
    rows.append(("MSRA encode", *_time_pair(lambda: loop_msra_encode(kp, vis, inp, hw, args.sigma),
                                            lambda: msra.encode(kp, vis), args.repeat), diff, "heatmap value"))
    ref_kp = dark.to_input(loop_dark_decode(maps, args.kernel)[0])     # same heatmap -> input mapping
    dec, _ = dark.decode(maps)
    diff = float(np.abs(dec - ref_kp).max())
    rows.append(("DARK decode", *_time_pair(lambda: dark.to_input(loop_dark_decode(maps, args.kernel)[0]),
                                            lambda: dark.decode(maps), args.repeat), diff, "input px"))

    print(f"codec throughput: batch of {n} x {k} maps of {hw[0]}x{hw[1]} (input {inp[0]}x{inp[1]}, sigma "
          f"{args.sigma:g}, DARK blur kernel {args.kernel}), medians of {args.repeat} runs each in alternating rounds")
    print(f"{'operation':12s} {'impl':8s} {'ms/batch':>9s} {'maps/s':>11s}")
    ok = True
    for name, t_loop, t_batch, diff, unit in rows:
        for impl, t in (("loop", t_loop), ("batched", t_batch)):
            print(f"{name:12s} {impl:8s} {t * 1e3:9.2f} {n * k / t:11,.0f}")
        speedup = t_loop / t_batch
        good = speedup >= SPEEDUP_TARGET and diff <= TOLERANCE_PX
        ok &= good
        print(f"{'':12s} speed-up {speedup:6.1f}x (target >= {SPEEDUP_TARGET:g}x), max |batched - loop| = "
              f"{diff:.2e} {unit} (target <= {TOLERANCE_PX:g}) {'ok' if good else 'MISSED'}")
    zeros = _time_pair(lambda: np.zeros((n, k, hw[1], hw[0]), np.float32), lambda: None, args.repeat)[0]
    print(f"zero-filling the (N, K, H, W) output alone takes {zeros * 1e3:.2f} ms: both encoders pay it, and it "
          f"bounds the encode speed-up")
    if not ok:
        print("warning: a target was missed (speed-ups vary with machine load; rerun on an idle machine)")


def register(sub):
    p = sub.add_parser("codecs", help="batched codec encode/decode vs per-joint loops")
    p.add_argument("--n", type=int, default=32, help="batch size (instances)")
    p.add_argument("--joints", type=int, default=17, help="joints per instance")
    p.add_argument("--heatmap", type=int, nargs=2, default=(48, 64), metavar=("W", "H"), help="heatmap size")
    p.add_argument("--input", type=int, nargs=2, default=None, metavar=("W", "H"),
                   help="input size (default 4 x heatmap)")
    p.add_argument("--sigma", type=float, default=2.0, help="Gaussian sigma, heatmap px")
    p.add_argument("--kernel", type=int, default=11, help="DARK blur kernel size")
    p.add_argument("--repeat", type=int, default=20, help="timed runs per implementation")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(fn=bench_codecs)
