"""``animalpose demo``: the main job on built-in data.

Today: render the demo data set in the real formats (reused when already
there for the same preset and seed), read it back with the real loaders and
write the dataset summary and a preview.  Training, adaptation and evaluation
join this command as the kit grows.
"""
from __future__ import annotations

import json
import os

from datasets.summary import summarize, to_markdown

from .generate import run_generate


def register(sub, formatter):
    p = sub.add_parser("demo", formatter_class=formatter, help="run the main job end to end on built-in data",
                       description="Render the built-in data (preset `demo`) in the real dataset formats into "
                                   "OUT/data, read it back with the real loaders and write OUT/summary.json, "
                                   "OUT/summary.md and OUT/preview.png.")
    p.add_argument("--out", default="runs/demo", help="output folder")
    p.add_argument("--preset", default="demo", choices=("tiny", "demo", "full"), help="data preset")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), help="worker processes")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def _have_data(data: str, preset: str, seed: int) -> bool:
    try:
        with open(os.path.join(data, "MANIFEST.json")) as f:
            m = json.load(f)
        return m["preset"]["name"] == preset and m["seed"] == seed
    except (OSError, ValueError, KeyError):
        return False


def run(args) -> int:
    data = os.path.join(args.out, "data")
    if _have_data(data, args.preset, args.seed):
        print(f"[1/2] reusing {args.preset} data in {data}")
    else:
        print(f"[1/2] rendering {args.preset} data into {data}")
        m = run_generate(args.preset, data, args.seed, args.workers, ["synthetic", "tigdog", "animalpose", "coco"],
                         args.quiet)
        print(f"      done in {m['seconds']} s")
    print(f"[2/2] reading it back with the real loaders -> {args.out}/summary.md, preview.png")
    s = summarize(data, args.out)
    print(to_markdown(s), end="")
    return 0
