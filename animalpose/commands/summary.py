"""``animalpose summary``: read every dataset under a folder with the real loaders."""
from __future__ import annotations

from datasets.summary import summarize, to_markdown


def register(sub, formatter):
    p = sub.add_parser(
        "summary", formatter_class=formatter, help="count and preview the datasets found under a folder",
        description="Read every dataset found under DATA (synthetic_animal/, behaviorDiscovery2.0/, animalpose/, "
                    "coco/) with the real-format loaders and write summary.json, summary.md and preview.png "
                    "(samples with their keypoints drawn) to OUT.")
    p.add_argument("--data", required=True, help="folder holding the datasets (e.g. the output of `generate`)")
    p.add_argument("--out", required=True, help="folder for summary.json, summary.md and preview.png")
    p.add_argument("--preview", type=int, default=4, help="preview samples per dataset split")
    return p


def run(args) -> int:
    s = summarize(args.data, args.out, args.preview)
    print(to_markdown(s), end="")
    print(f"wrote {args.out}/summary.json, summary.md, preview.png")
    return 0
