"""``animalpose specs``: print keypoint specifications and mappings."""
from __future__ import annotations

from ..keypoints import get_mapping, get_spec, list_mappings, list_specs


def register(sub, formatter):
    p = sub.add_parser("specs", formatter_class=formatter, help="show keypoint specs (joint orders) and mappings",
                       description="List the keypoint specs, or print one spec's joints, flip partners, groups and "
                                   "OKS sigmas, or one mapping between specs.")
    p.add_argument("name", nargs="?", help=f"spec ({', '.join(list_specs())}) or mapping ({', '.join(list_mappings())})")
    return p


def run(args) -> int:
    if not args.name:
        for n in list_specs():
            s = get_spec(n)
            print(f"{n:14s} {s.num_joints:3d} joints  {s.source}")
        print("mappings: " + ", ".join(list_mappings()))
        return 0
    if args.name in list_mappings():
        m = get_mapping(args.name)
        src, dst = get_spec(m.src), get_spec(m.dst)
        print(f"{m.name}: {m.source}")
        for a, b in m.pairs:
            print(f"  {a:3d} {src.joints[a]:16s} -> {b:3d} {dst.joints[b]}")
        return 0
    s = get_spec(args.name)
    flip = s.flip_index
    group = {i: g for g, idx in s.groups.items() for i in idx}
    print(f"{s.name}: {s.source}")
    print(f"{'idx':>3}  {'joint':16s} {'flip':16s} {'group':10s} sigma")
    for i, j in enumerate(s.joints):
        sig = f"{s.sigmas[i]:.3f}" if s.sigmas else "-"
        print(f"{i:3d}  {j:16s} {s.joints[flip[i]]:16s} {group.get(i, '-'):10s} {sig}")
    return 0
