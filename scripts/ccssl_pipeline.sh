#!/usr/bin/env bash
# Source pretraining -> CC-SSL adaptation -> one report comparing them (and the
# target-supervised oracle when the target has labels), for one animal.
#
#   scripts/ccssl_pipeline.sh ANIMAL DATA_ROOT OUT [PRESET [OPTION ...]]
#
# ANIMAL: horse or tiger.  DATA_ROOT: a folder with synthetic_animal/ and
# behaviorDiscovery2.0/ (the real downloads, or `animalpose generate` output).
# PRESET: "paper" (default: ccssl_synthetic_*, ccssl_adapt_*, ccssl_real_*) or
# "demo" (the small demo configs; minutes on a CPU, horse only).
# OPTIONs after PRESET go to every training command (pretrain, adapt), e.g.
#   scripts/ccssl_pipeline.sh tiger data runs/tiger paper --device cuda --workers 8
set -euo pipefail
animal=${1:?usage: ccssl_pipeline.sh ANIMAL DATA_ROOT OUT [paper|demo]}
data=${2:?usage: ccssl_pipeline.sh ANIMAL DATA_ROOT OUT [paper|demo]}
out=${3:?usage: ccssl_pipeline.sh ANIMAL DATA_ROOT OUT [paper|demo]}
preset=${4:-paper}
shift $(( $# < 4 ? $# : 4 ))
extra=("$@")
ap=${ANIMALPOSE:-animalpose}
case "$preset" in
  paper) src=ccssl_synthetic_$animal; adapt=ccssl_adapt_$animal; oracle=ccssl_real_$animal ;;
  demo)  [ "$animal" = horse ] || { echo "the demo configs are for horse" >&2; exit 2; }
         src=demo_synthetic; adapt=demo_ccssl; oracle=demo_real ;;
  *) echo "preset must be paper or demo, got $preset" >&2; exit 2 ;;
esac
roots=(--set "train_data.root=$data" --set "val_data.root=$data")
echo "== source pretraining ($src)"
$ap pretrain --config "$src" "${roots[@]}" --out "$out/source_only" "${extra[@]}"
echo "== CC-SSL adaptation ($adapt)"
$ap adapt --method ccssl --source "$out/source_only/last.pt" --config "$adapt" "${roots[@]}" \
    --set "ccssl.target_data.root=$data" --out "$out/ccssl" "${extra[@]}"
echo "== target-supervised oracle ($oracle)"
$ap pretrain --config "$oracle" "${roots[@]}" --out "$out/oracle" "${extra[@]}"
echo "== report"
$ap evaluate --checkpoint "$out/source_only/last.pt" --name source_only \
    --checkpoint "$out/ccssl/last.pt" --name ccssl \
    --checkpoint "$out/oracle/last.pt" --name oracle \
    --data "$data" --animal "$animal" --protocol ccssl --out "$out/report" --stem report
