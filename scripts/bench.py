#!/usr/bin/env python
"""Benchmarks of the kit, run by hand (never by the test suite).

    python scripts/bench.py render [--n 40] [--size 320 240]
    python scripts/bench.py codecs      (scripts/bench_codecs.py)
    python scripts/bench.py models      (scripts/bench_models.py)

``render``: images per second of each procedural renderer path, and each
path's cost as a ratio of the synthetic-domain render measured in the same
process (so the figures compare across machines).  Later parts of the kit add
their own subcommands here (e.g. ``models``).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def _time(fn, n):
    fn(0)  # warm-up
    t = time.perf_counter()
    for i in range(n):
        fn(i + 1)
    return (time.perf_counter() - t) / n


def bench_render(args):
    from datasets.render.human import random_human, render_people
    from datasets.render.quadruped import get_species, random_pose
    from datasets.render.scene import random_camera, render_scene

    size = tuple(args.size)
    sp = get_species("horse")

    def animal(domain):
        def run(i):
            rng = np.random.default_rng(i)
            render_scene(rng, size, domain, [(sp, random_pose(rng), random_camera(rng, sp, size), None)])
        return run

    def people(i):
        rng = np.random.default_rng(i)
        w, h = size
        persons = [random_human(rng, (rng.uniform(0.2, 0.8) * w, 0.6 * h), 0.6 * h, depth=k) for k in range(3)]
        render_people(persons, size, seed=i)

    rows = [("animal, synthetic domain", animal("synthetic")), ("animal, real domain", animal("real")),
            ("3 people, COCO style", people)]
    base = None
    print(f"renderer throughput at {size[0]}x{size[1]}, {args.n} images each")
    print(f"{'path':28s} {'ms/image':>9s} {'images/s':>9s} {'x synthetic':>12s}")
    for name, fn in rows:
        dt = _time(fn, args.n)
        base = base or dt
        print(f"{name:28s} {dt * 1e3:9.1f} {1 / dt:9.1f} {dt / base:12.2f}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="what", required=True)
    r = sub.add_parser("render", help="procedural renderer throughput")
    r.add_argument("--n", type=int, default=40, help="images per path")
    r.add_argument("--size", type=int, nargs=2, default=(320, 240), metavar=("W", "H"), help="image size")
    r.set_defaults(fn=bench_render)
    # Other benchmarks live in their own modules beside this file; each adds a subcommand.
    import bench_codecs
    import bench_models
    bench_codecs.register(sub)
    bench_models.register(sub)
    args = p.parse_args(argv)
    args.fn(args)


if __name__ == "__main__":
    main()
