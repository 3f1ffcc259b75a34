#!/usr/bin/env bash
# The official CC-SSL sequence for one animal (Mu et al. 2020; LFSA TRAINING.md):
#   1. stage-0 source: ccssl_synthetic_ANIMAL (strong augmentation + flip, occluded joints supervised,
#      100 epochs), best.pt = model_best on the synthetic validation split (the official selection);
#   2. CC-SSL: ccssl_adapt_ANIMAL from that best.pt (60 epochs, pseudo-labels every 10);
#   3. evaluation on the official TigDog test split, per joint group: the source, CC-SSL `last`
#      (the final epoch, honest) and CC-SSL `best_on_test` (the official selection: the epoch best on
#      the test set, labelled as such).
#
#   scripts/reproduce_ccssl.sh ANIMAL DATA_ROOT OUT [--dry-run] [OPTION ...]
#
# DATA_ROOT holds synthetic_animal/, behaviorDiscovery2.0/ and real_animal/<animal>/ (the official split
# files). --dry-run prints every resolved hyper-parameter beside the official value (exit 1 on any
# difference) and runs nothing. OPTIONs go to every training command (e.g. --device cuda --workers 8,
# or --set overrides for a quick run).
set -euo pipefail
usage="usage: reproduce_ccssl.sh ANIMAL DATA_ROOT OUT [--dry-run] [OPTION ...]"
animal=${1:?$usage}; data=${2:?$usage}; out=${3:?$usage}
shift 3
dry=0
if [ "${1:-}" = "--dry-run" ]; then dry=1; shift; fi
extra=("$@")
PY=${PYTHON:-python}
here=$(cd "$(dirname "$0")" && pwd)
case "$animal" in horse|tiger) ;; *) echo "ANIMAL must be horse or tiger, got $animal" >&2; exit 2 ;; esac
if [ "$dry" = 1 ]; then
  exec "$PY" "$here/recipe_check.py" ccssl "$animal"
fi
roots=(--set "train_data.root=$data" --set "val_data.root=$data")
echo "== stage 0: source pretraining (ccssl_synthetic_$animal)"
"$PY" -m animalpose pretrain --config "ccssl_synthetic_$animal" "${roots[@]}" --out "$out/source" "${extra[@]}"
echo "== CC-SSL (ccssl_adapt_$animal) from the source's best.pt (selected on synthetic valid)"
"$PY" -m animalpose adapt --method ccssl --source "$out/source/best.pt" --config "ccssl_adapt_$animal" "${roots[@]}" \
    --set "ccssl.target_data.root=$data" --finetune-epochs 0 --out "$out/ccssl" "${extra[@]}"
echo "== evaluation on the official TigDog test split"
"$PY" -m animalpose evaluate --checkpoint "$out/source/best.pt" --name source \
    --checkpoint "$out/ccssl/last.pt" --name ccssl_last \
    --checkpoint "$out/ccssl/best_on_test.pt" --name ccssl_best_on_test \
    --data "$data" --dataset tigdog --animal "$animal" --split test --split-dir official --crop ccssl \
    --protocol ccssl --out "$out/report" --stem report --quiet
cat "$out/ccssl/selection.json"
echo "ccssl_best_on_test is selected on the test set (the official choice); ccssl_last is the final epoch."
