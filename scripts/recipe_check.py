"""Compare the resolved paper configs with the official hyper-parameters (``--dry-run`` of
``scripts/reproduce_ccssl.sh`` and ``scripts/reproduce_coco.sh``).

    python scripts/recipe_check.py ccssl horse [--set KEY=VALUE ...]
    python scripts/recipe_check.py coco hrnet_w32_coco_256x192 [--set KEY=VALUE ...]

Prints one row per hyper-parameter: the config key, the kit's resolved value, the official value
and where that value comes from; exits 1 when any row differs.  The official values are facts from
the public releases (CC-SSL: LFSA ``TRAINING.md``, ``train/train.py``, ``CCSSL/CCSSL.py``,
``CCSSL/scripts/consistency.py`` and its datasets; HRNet / SimpleBaseline / DEKR: their experiment
YAML files), written down here by hand; ``--set`` overrides show what a change would break.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Dict, List, Tuple

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from animalpose.engine.config import load_experiment  # noqa: E402

LFSA = "LFSA train/train.py + TRAINING.md"
CC = "LFSA CCSSL/CCSSL.py, scripts/consistency.py"
SYN_MEAN = {"horse": (0.4038, 0.3956, 0.3925), "tiger": (0.3959, 0.3861, 0.3818)}

Row = Tuple[str, Any, str]          # key, official value, source


def _stage0(animal: str) -> List[Row]:
    return [
        ("model.name", "hourglass", LFSA), ("model.options.stacks", 4, LFSA), ("model.options.blocks", 1, LFSA),
        ("model.options.features", 128, "LFSA hourglass num_feats"),
        ("codec.input_size", (256, 256), LFSA), ("codec.heatmap_size", (64, 64), LFSA), ("codec.sigma", 1.0, LFSA),
        ("optim.name", "rmsprop", LFSA), ("optim.lr", 2.5e-4, LFSA), ("optim.momentum", 0.0, LFSA),
        ("optim.weight_decay", 0.0, LFSA), ("optim.milestones", [60, 90], LFSA), ("optim.gamma", 0.1, LFSA),
        ("train.epochs", 100, LFSA), ("train.batch_size", 6, LFSA),
        ("augment.recipe", "ccssl_strong", "synthetic_animal_sp (imgaug strong sequence)"),
        ("augment.overrides.flip_prob", None, "synthetic_animal_sp shufflelr p 0.5 (recipe default)"),
        ("augment.antialias", True, "transforms.crop: scipy imresize / imrotate"),
        ("train_data.dataset", "synthetic_animal", LFSA), ("train_data.occlusion_visible", True,
                                                             "train_with_occlusion = True"),
        ("val_data.dataset", "synthetic_animal", "model_best on the synthetic validation split"),
        ("val_data.split", "valid", "valid_idxs.npy"), ("eval.selection", "val", "model_best on synthetic valid"),
        ("normalize.mean", SYN_MEAN[animal], f"{animal}_combineds5r5_texture/mean.pth.tar"),
        ("normalize.std", None, "color_normalize subtracts the mean only"),
        ("normalize.bytescale", True, "scipy imresize bytescale"),
        ("eval.protocol", "ccssl", "pose/utils/evaluation.py"), ("eval.batch_size", 6, "test batch 6"),
    ]


def _adapt(animal: str) -> List[Row]:
    return [
        ("model.options.stacks", 4, CC), ("optim.name", "rmsprop", CC), ("optim.lr", 2.5e-4, CC),
        ("optim.milestones", [], "no lr decay"), ("train.epochs", 60, CC), ("train.batch_size", 6, CC),
        ("augment.recipe", "ccssl_strong", "ssl_synthetic_animal_sp"),
        ("augment.overrides.flip_prob", 0.0, "ssl_synthetic_animal_sp: no flip"),
        ("augment.antialias", True, "scipy imresize crops"),
        ("train_data.occlusion_visible", True, "train_with_occlusion = True"),
        ("ccssl.target_augment.recipe", "bearpaw", "ssl_real_animal_crop"),
        ("ccssl.target_context", "crop", "ssl_real_animal_crop augments the saved 256-px crop"),
        ("ccssl.gamma", 10.0, "--gamma_ 10"), ("ccssl.label_every", 10, "prediction_check every 10 epochs"),
        ("ccssl.num_transforms", 5, "num_transform=5"), ("ccssl.scale_factor", 0.25, "consistency.py"),
        ("ccssl.rot_factor", 30.0, "consistency.py"), ("ccssl.views", "image", "transforms drawn per image"),
        ("ccssl.view_padding", "mean", "padded re-crops ~ mean grey"), ("ccssl.flip", False, "flip commented out"),
        ("ccssl.equivariance", True, CC), ("ccssl.invariance", 0, CC),
        ("ccssl.temporal", True, "calcOpticalFlowPyrLK"), ("ccssl.respect_shots", False, "previous sample in loader order"),
        ("ccssl.flow_side_effect", True, "flow_conf is a view of the stored labels"),
        ("ccssl.decay", 0.9, "lambda_decay 0.9"), ("ccssl.max_flow", 15.0, "15 px"),
        ("ccssl.curriculum_start", 10, "p = 1 - 0.02 (epoch + 10)"), ("ccssl.curriculum_rate", 0.02, CC),
        ("ccssl.curriculum_floor", 0.2, "floored at 0.2"),
        ("ccssl.target_data.crop", "ccssl", "real_animal_sp crop 1.5 x max side"),
        ("ccssl.target_data.split_dir", "official", "data/real_animal/<animal>/train_idxs_by_video.npy"),
        ("val_data.dataset", "tigdog", CC), ("val_data.split", "test", "valid_idxs_by_video.npy"),
        ("val_data.split_dir", "official", "data/real_animal/<animal>/valid_idxs_by_video.npy"),
        ("eval.selection", "test", "best on the TigDog test set (reported as best_on_test)"),
        ("normalize.mean", SYN_MEAN[animal], "synthetic mean (real_animal_sp._compute_mean)"),
        ("eval.batch_size", 6, "test batch 6"), ("eval.flip", False, "flip_back call broken: no flip"),
    ]


def _hrnet(width: int, size: Tuple[int, int], sigma: float, batch: int) -> List[Row]:
    src = f"HRNet experiments/coco/hrnet/w{width}_{size[1]}x{size[0]}_adam_lr1e-3.yaml"
    hm = (size[0] // 4, size[1] // 4)
    return [
        ("model.name", f"hrnet_w{width}", src),
        ("model.options.pretrained_backbone", f"pretrained/hrnet_w{width}-{'36af842e' if width == 32 else '8ef0771d'}.pth",
         "MODEL.PRETRAINED (ImageNet)"),
        ("codec.name", "msra", "TARGET_TYPE gaussian"), ("codec.input_size", size, src), ("codec.heatmap_size", hm, src),
        ("codec.sigma", sigma, src), ("augment.recipe", "hrnet", "SCALE_FACTOR 0.35, ROT_FACTOR 45, half body 0.3"),
        ("normalize.bgr", False, "COLOR_RGB true"), ("optim.name", "adam", src), ("optim.lr", 1e-3, src),
        ("optim.weight_decay", 0.0, "Adam without WD"), ("optim.milestones", [170, 200], src),
        ("optim.scheduler_step", "before_epoch", "tools/train.py steps the scheduler first"),
        ("train.epochs", 210, src), ("train.batch_size", batch, "BATCH_SIZE_PER_GPU"), ("train.world_size", 4, "GPUS 4"),
        ("eval.flip", True, "FLIP_TEST"), ("eval.protocol", "coco", "COCOeval"),
        ("augment.scale_dtype", "float32", "_box2cs float32 scale; scale * 200 in float32"),
    ]


def _dark() -> List[Row]:
    rows = {k: (v, src) for k, v, src in _hrnet(32, (192, 256), 2.0, 32)}
    rows["codec.name"] = ("dark", "DarkPose: unbiased encoding + Taylor decoding")
    rows["augment.warp"] = ("unbiased", "DarkPose get_affine_transform with (w - 1)")
    rows["train_data.box_convention"] = ("darkpose", "DarkPose _xywh2cs (w - 1) / 2, GT width x2 - x1 + 1")
    rows["val_data.box_convention"] = ("darkpose", "DarkPose _xywh2cs (w - 1) / 2, detection centre x + (w - 1) / 2")
    return [(k, v, src) for k, (v, src) in rows.items()]


def _udp_combined() -> List[Row]:
    rows = {k: (v, src) for k, v, src in _hrnet(32, (192, 256), 2.0, 48)}
    src = "UDP-Pose w32_256x192_adam_lr1e-3 (combined target)"
    rows.update({"codec.name": ("udp_combined", src), "augment.warp": ("udp", "UDP get_warpmatrix"),
                 "loss.name": ("combined_target", "CombinedTargetMSELoss"), "optim.lr": (3e-3, src),
                 "optim.warmup_iters": (500, "linear warm-up 500 iterations"), "train.world_size": (1, src),
                 "codec.options.offset_blur_kernel_size": (13, "decode kernel 13")})
    rows.pop("optim.scheduler_step")          # UDP's scheduler order with its warm-up: not checked here
    return [(k, v, s_) for k, (v, s_) in rows.items()]


def _simplebaseline(depth: int) -> List[Row]:
    src = f"microsoft/human-pose-estimation.pytorch res{depth}_256x192_d256x3_adam_lr1e-3.yaml"
    files = {50: "resnet50-19c8e357", 101: "resnet101-5d3b4d8f", 152: "resnet152-b121ed2d"}
    return [
        ("model.name", f"simplebaseline_res{depth}", src),
        ("model.options.pretrained_backbone", f"pretrained/{files[depth]}.pth", "torchvision ImageNet ResNet"),
        ("codec.input_size", (192, 256), src), ("codec.heatmap_size", (48, 64), src), ("codec.sigma", 2.0, src),
        ("augment.recipe", "simplebaseline", "SCALE_FACTOR 0.3, ROT_FACTOR 40, no half body"),
        ("normalize.bgr", True, "no cvtColor: BGR input"), ("optim.lr", 1e-3, src), ("optim.milestones", [90, 120], src),
        ("optim.scheduler_step", "before_epoch", "pose_estimation/train.py"), ("train.epochs", 140, src),
        ("train.batch_size", 32, src), ("train.world_size", 4, "GPUS 4"), ("eval.flip", True, "FLIP_TEST"),
        ("augment.scale_dtype", "float32", "_box2cs float32 scale"),
    ]


def _dekr(width: int, dataset: str) -> List[Row]:
    size = 512 if width == 32 else 640
    src = f"DEKR experiments/{dataset}/w{width}_..._{size}_adam_lr1e-3_{dataset}"
    epochs, steps = (140, [90, 120]) if dataset == "coco" else (300, [200, 260])
    dataset_yaml = f"DEKR experiments/{dataset}/rescore_{dataset}.yaml"
    return [
        ("model.name", f"dekr_w{width}", src),
        ("model.options.pretrained_backbone", f"pretrained/hrnetv2_w{width}_imagenet_pretrained.pth", "MODEL.PRETRAINED"),
        ("codec.input_size", (size, size), src), ("codec.heatmap_size", (size // 4, size // 4), src),
        ("codec.sigma", 2.0, src), ("codec.options.center_sigma", 4.0, src), ("codec.options.bg_weight", 0.1, src),
        ("codec.options.offset_radius", 4, src), ("codec.options.max_people", 30, src),
        ("bottomup.max_rotation", 30.0, src), ("bottomup.min_scale", 0.75, src), ("bottomup.max_scale", 1.5, src),
        ("bottomup.max_translate", 40.0, src), ("bottomup.flip_prob", 0.5, src),
        ("optim.lr", 1e-3, src), ("optim.milestones", steps, src), ("train.epochs", epochs, src),
        ("train.batch_size", 10 if width == 32 else 5, "IMAGES_PER_GPU"), ("train.world_size", 4 if width == 32 else 8, "GPUS"),
        ("loss.offset_weight", 0.03, "OFFSETS_FACTOR 0.03"),
        ("bottomup.offset_area", "official", "COCOKeypoints.get_joints area (all rows, origin) x affine scale^2"),
        ("bottomup.train_images", "any_annotation", "COCOKeypoints: ids with any annotation"),
        ("bottomup.multi_scale_nms_threshold", 0.15, "multi-scale test command TEST.NMS_THRE 0.15"),
    ] + [(f"rescore.{k}", v, field if "/" in field else f"{dataset_yaml} {field}") for k, v, field in (
        ("epochs", 20, "RESCORE.END_EPOCH"), ("lr", 1e-3, "RESCORE.LR"), ("batch_size", 1024, "RESCORE.BATCHSIZE"),
        ("hidden", 256, "RESCORE.HIDDEN_LAYER"), ("one_to_zero", True, "utils/rescore.py get_joint: OKS 1 -> 0"),
        ("flip", True, "TEST.FLIP_TEST"), ("scales", [1.0], "TEST.SCALE_FACTOR"),
        ("nms_threshold", 0.05, "TEST.NMS_THRE"))]


def official(recipe: str, name: str) -> Dict[str, List[Row]]:
    """Config name -> official rows, for ``ccssl ANIMAL`` (three stages) or ``coco CONFIG``."""
    if recipe == "ccssl":
        if name not in SYN_MEAN:
            raise ValueError(f"ccssl recipe animal must be horse or tiger, got {name!r}")
        return {f"ccssl_synthetic_{name}": _stage0(name), f"ccssl_adapt_{name}": _adapt(name)}
    table = {
        "hrnet_w32_coco_256x192": _hrnet(32, (192, 256), 2.0, 32), "hrnet_w32_coco_384x288": _hrnet(32, (288, 384), 3.0, 32),
        "hrnet_w48_coco_256x192": _hrnet(48, (192, 256), 2.0, 32), "hrnet_w48_coco_384x288": _hrnet(48, (288, 384), 3.0, 24),
        "simplebaseline_res50_coco_256x192": _simplebaseline(50), "simplebaseline_res101_coco_256x192": _simplebaseline(101),
        "simplebaseline_res152_coco_256x192": _simplebaseline(152),
        "hrnet_w32_coco_256x192_dark": _dark(), "hrnet_w32_coco_256x192_udp_combined": _udp_combined(),
        "dekr_w32_coco_512": _dekr(32, "coco"), "dekr_w48_coco_640": _dekr(48, "coco"),
        "dekr_w32_crowdpose_512": _dekr(32, "crowdpose"), "dekr_w48_crowdpose_640": _dekr(48, "crowdpose"),
    }
    if name not in table:
        raise ValueError(f"no official table for {name!r}; known: {', '.join(table)}")
    return {name: table[name]}


def resolve(cfg, key: str):
    """The value of a dotted ``key`` in a config (dataclasses and dicts; missing dict keys: None)."""
    if key.startswith("rescore."):                     # the rescore-net recipe is not part of the config
        from animalpose.engine.rescore import RESCORE_RECIPE
        return RESCORE_RECIPE[key[len("rescore."):]]
    v: Any = cfg
    for part in key.split("."):
        v = v.get(part) if isinstance(v, dict) else getattr(v, part)
    return v


def _same(a, b) -> bool:
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return abs(float(a) - float(b)) <= 1e-12 * max(1.0, abs(float(b)))
    return a == b


def compare(recipe: str, name: str, overrides: List[str] = ()) -> List[Tuple[str, str, Any, Any, str, bool]]:
    """``(config, key, kit value, official value, source, same)`` rows."""
    rows = []
    for config, table in official(recipe, name).items():
        cfg = load_experiment(config, list(overrides))
        for key, value, src in table:
            kit = resolve(cfg, key)
            rows.append((config, key, kit, value, src, _same(kit, value)))
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("recipe", choices=("ccssl", "coco"))
    p.add_argument("name", help="ccssl: horse | tiger; coco: a paper config name")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = p.parse_args(argv)
    try:
        rows = compare(args.recipe, args.name, args.overrides)
    except (ValueError, KeyError) as e:
        print(f"recipe_check: {e}", file=sys.stderr)
        return 2
    print("| config | key | kit | official | source | |")
    print("|---|---|---|---|---|---|")
    for config, key, kit, value, src, same in rows:
        print(f"| {config} | {key} | {kit} | {value} | {src} | {'ok' if same else 'DIFFERENT'} |")
    bad = [r for r in rows if not r[5]]
    print(f"{len(rows)} hyper-parameters, {len(bad)} different from the official recipe")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
