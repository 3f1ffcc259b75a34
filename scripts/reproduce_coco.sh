#!/usr/bin/env bash
# One human-pose paper config end to end, as the official run: train with the config's recipe (ImageNet
# backbone under pretrained/, train.world_size processes through torchrun when it is above 1), then test
# with the published table's settings: COCO val2017 with the 56.4-AP person detections
# (COCO_val2017_detections_AP_H_56_person.json in DATA_ROOT, when present) and flip test for the
# top-down models; DEKR: flip test on every image, then again with a rescore net trained by
# `animalpose rescore` on the training set; CrowdPose: the test split.
#
#   scripts/reproduce_coco.sh MODEL DATA_ROOT OUT [--dry-run] [OPTION ...]
#
# MODEL: a paper config (hrnet_w32_coco_256x192, simplebaseline_res50_coco_256x192, dekr_w32_coco_512,
# dekr_w32_crowdpose_512, ...). --dry-run prints every resolved hyper-parameter beside the official value
# (exit 1 on any difference) and runs nothing. OPTIONs go to the training command.
set -euo pipefail
usage="usage: reproduce_coco.sh MODEL DATA_ROOT OUT [--dry-run] [OPTION ...]"
model=${1:?$usage}; data=${2:?$usage}; out=${3:?$usage}
shift 3
dry=0
if [ "${1:-}" = "--dry-run" ]; then dry=1; shift; fi
extra=("$@")
PY=${PYTHON:-python}
here=$(cd "$(dirname "$0")" && pwd)
if [ "$dry" = 1 ]; then
  exec "$PY" "$here/recipe_check.py" coco "$model"
fi
world=$("$PY" -c "from animalpose.engine.config import load_experiment as l; print(l('$model').train.world_size)")
launch=("$PY" -m animalpose)
if [ "$world" -gt 1 ] && [ "${REPRODUCE_WORLD_SIZE:-$world}" -gt 1 ]; then
  launch=("$PY" -m torch.distributed.run --nproc_per_node "${REPRODUCE_WORLD_SIZE:-$world}" -m animalpose)
fi
echo "== train $model (world size ${REPRODUCE_WORLD_SIZE:-$world})"
"${launch[@]}" pretrain --config "$model" --set "train_data.root=$data" --set "val_data.root=$data" \
    --out "$out/train" "${extra[@]}"
echo "== test (last epoch)"
test_args=(--flip)
case "$model" in
  *crowdpose*) test_args+=(--split test) ;;
  dekr*) test_args+=(--split val2017) ;;
  *) test_args+=(--split val2017 --protocol coco)
     det="$data/COCO_val2017_detections_AP_H_56_person.json"
     [ -f "$det" ] && test_args+=(--det-file "$det") || echo "no $det: ground-truth boxes (about 2 AP higher)" ;;
esac
"$PY" -m animalpose evaluate --checkpoint "$out/train/last.pt" --data "$data" "${test_args[@]}" \
    --out "$out/test" --quiet
case "$model" in
  dekr*)   # the published DEKR numbers are rescored: train the rescore net on the training set, test again
    echo "== rescore net (official train_scorenet recipe), then test with it"
    "$PY" -m animalpose rescore --checkpoint "$out/train/last.pt" --data "$data" --out "$out/rescore" --quiet
    "$PY" -m animalpose evaluate --checkpoint "$out/train/last.pt" --data "$data" "${test_args[@]}" \
        --rescore "$out/rescore/rescore_net.pth" --out "$out/test_rescored" --quiet ;;
esac
