#!/usr/bin/env bash
# Human-pose baselines end to end on the built-in COCO-format people (CPU, minutes):
#   1. render the COCO part of a preset (default `demo`: 240 train / 80 val images) into OUT/data;
#   2. train a small top-down HRNet (demo_human_topdown, 60 epochs) and a small DEKR (demo_human_dekr)
#      from scratch (recipes and measured AP in the config headers);
#   3. evaluate both with pycocotools (flip test) and write OUT/report.{json,md} with the ten COCO stats,
#      the wall-clock time of each step and the mean seconds per training epoch.
# Usage: scripts/human_pose_demo.sh [OUT] (default runs/human_demo); PYTHON=... PRESET=tiny|demo
#        EXTRA="--set train.epochs=2" adds pretrain overrides to both runs.
set -euo pipefail
OUT=${1:-runs/human_demo}
PY=${PYTHON:-python}
PRESET=${PRESET:-demo}
EXTRA=${EXTRA:-}
mkdir -p "$OUT"
t0=$(date +%s)
"$PY" -m animalpose generate --preset "$PRESET" --out "$OUT/data" --only coco --quiet
t1=$(date +%s)
echo "{\"render_s\": $((t1 - t0))}" > "$OUT/timings_render.json"
for cfg in demo_human_topdown demo_human_dekr; do
  s=$(date +%s)
  # shellcheck disable=SC2086
  "$PY" -m animalpose pretrain --config "$cfg" --set "train_data.root=$OUT/data" --set "val_data.root=$OUT/data" \
    $EXTRA --out "$OUT/$cfg" --device cpu --quiet
  m=$(date +%s)
  "$PY" -m animalpose evaluate --checkpoint "$OUT/$cfg/best.pt" --flip --out "$OUT/$cfg/eval" --device cpu --quiet
  e=$(date +%s)
  echo "{\"train_s\": $((m - s)), \"eval_s\": $((e - m))}" > "$OUT/$cfg/timings.json"
done
"$PY" - "$OUT" <<'PYEOF'
import json, os, sys
from evaluation import format_stats_table
out = sys.argv[1]
report = {"render_s": json.load(open(os.path.join(out, "timings_render.json")))["render_s"], "models": {}}
for cfg in ("demo_human_topdown", "demo_human_dekr"):
    stats = json.load(open(os.path.join(out, cfg, "eval", "coco_stats.json")))[cfg]
    hist = json.load(open(os.path.join(out, cfg, "history.json")))
    report["models"][cfg] = {"stats": stats, **json.load(open(os.path.join(out, cfg, "timings.json"))),
                             "epochs": len(hist), "epoch_s": round(sum(h["seconds"] for h in hist) / max(len(hist), 1), 1)}
with open(os.path.join(out, "report.json"), "w") as f:
    json.dump(report, f, indent=1)
table = format_stats_table({k: v["stats"] for k, v in report["models"].items()})
times = "\n".join(f"- {k}: train {v['train_s']} s ({v['epochs']} epochs, {v['epoch_s']} s/epoch), evaluate {v['eval_s']} s"
                  for k, v in report["models"].items())
md = f"# Human-pose demo (COCO keypoint AP, pycocotools, flip test)\n\n{table}\n\nRender {report['render_s']} s\n{times}\n"
with open(os.path.join(out, "report.md"), "w") as f:
    f.write(md)
print(md)
PYEOF
