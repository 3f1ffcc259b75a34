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
# CC-SSL-R (the adapted model fine-tuned with the target's real labels) runs for
# $CCSSL_R_EPOCHS epochs (default: 10 for paper, 4 for demo; 0 skips it).
set -euo pipefail
animal=${1:?usage: ccssl_pipeline.sh ANIMAL DATA_ROOT OUT [paper|demo]}
data=${2:?usage: ccssl_pipeline.sh ANIMAL DATA_ROOT OUT [paper|demo]}
out=${3:?usage: ccssl_pipeline.sh ANIMAL DATA_ROOT OUT [paper|demo]}
preset=${4:-paper}
shift $(( $# < 4 ? $# : 4 ))
r_epochs_set=${CCSSL_R_EPOCHS:-}
extra=("$@")
ap=${ANIMALPOSE:-animalpose}
case "$preset" in
  paper) src=ccssl_synthetic_$animal; adapt=ccssl_adapt_$animal; oracle=ccssl_real_$animal; r_epochs=10
         src_ckpt=best.pt ;;   # stage 0 keeps model_best on the synthetic validation split, as the official run
  demo)  [ "$animal" = horse ] || { echo "the demo configs are for horse" >&2; exit 2; }
         src=demo_synthetic; adapt=demo_ccssl; oracle=demo_real; r_epochs=4; src_ckpt=last.pt ;;
  *) echo "preset must be paper or demo, got $preset" >&2; exit 2 ;;
esac
roots=(--set "train_data.root=$data" --set "val_data.root=$data")
echo "== source pretraining ($src)"
$ap pretrain --config "$src" "${roots[@]}" --out "$out/source_only" "${extra[@]}"
echo "== CC-SSL adaptation ($adapt)"
r_epochs=${r_epochs_set:-$r_epochs}
$ap adapt --method ccssl --source "$out/source_only/$src_ckpt" --config "$adapt" "${roots[@]}" \
    --set "ccssl.target_data.root=$data" --finetune-epochs "$r_epochs" --out "$out/ccssl" "${extra[@]}"
refined=()
[ "$r_epochs" -gt 0 ] && refined=(--checkpoint "$out/ccssl/refined/last.pt" --name ccssl_r)
echo "== target-supervised oracle ($oracle)"
$ap pretrain --config "$oracle" "${roots[@]}" --out "$out/oracle" "${extra[@]}"
echo "== report"
$ap evaluate --checkpoint "$out/source_only/$src_ckpt" --name source_only \
    --checkpoint "$out/ccssl/last.pt" --name ccssl "${refined[@]}" \
    --checkpoint "$out/oracle/last.pt" --name oracle \
    --data "$data" --dataset tigdog --animal "$animal" --split test --split-dir official --crop ccssl \
    --protocol ccssl --out "$out/report" --stem report
