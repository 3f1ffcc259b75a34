"""``animalpose generate``: render the built-in data in the real dataset formats."""
from __future__ import annotations

import os

from datasets.render.generate import DEFAULT_PARTS, PARTS, PRESETS, generate, plan, get_preset

from ..progress import Steps


def register(sub, formatter):
    presets = "; ".join(f"{k}: {v.description}" for k, v in PRESETS.items())
    p = sub.add_parser(
        "generate", formatter_class=formatter,
        help="render synthetic + real-looking animals and humans in the real on-disk formats",
        description="Render procedural data written in the real dataset formats: CC-SSL synthetic animals "
                    "(source domain), TigDog behaviorDiscovery2.0 videos with a real-looking appearance (target "
                    "domain), an Animal-Pose keypoints.json set and COCO person keypoints. The output is "
                    "deterministic for a seed. Presets: " + presets)
    p.add_argument("--preset", choices=sorted(PRESETS), default="demo", help="size of the generated data")
    p.add_argument("--out", required=True, help="output folder (created); mirrors an animal_data/ folder plus coco/")
    p.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives identical files")
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1),
                   help="worker processes (the output does not depend on it)")
    p.add_argument("--only", nargs="+", choices=PARTS, default=list(DEFAULT_PARTS), metavar="PART",
                   help=f"render only these parts ({', '.join(PARTS)}; default: {' '.join(DEFAULT_PARTS)}; "
                        "crowdpose re-renders the coco people in the CrowdPose format)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def run(args) -> int:
    manifest = run_generate(args.preset, args.out, args.seed, args.workers, args.only, args.quiet)
    if not args.quiet:
        print(f"wrote {args.preset} data to {args.out} in {manifest['seconds']} s")
        for job in manifest["jobs"]:
            print("  " + ", ".join(f"{k}: {v}" for k, v in job.items()))
    return 0


def run_generate(preset, out, seed, workers, parts, quiet):
    if workers < 1:
        raise ValueError(f"--workers must be at least 1, got {workers}")
    n = len(plan(get_preset(preset), out, seed, parts))
    bar = Steps(f"generate {preset}", n, quiet)
    try:
        return generate(preset, out, seed, workers, parts, progress=bar.next)
    finally:
        bar.finish()
