"""Experiment configuration: typed dataclasses, YAML presets shipped in
``animalpose/configs/``, ``--set key=value`` overrides.

``load_experiment("ccssl_hg_horse")`` reads the packaged preset of that name;
a path to a ``.yaml`` file works too.  Unknown keys and wrongly typed values
fail with one line naming the key and file.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from . import configio
from .configio import ConfigError

def _require(ok: bool, key: str, want: str, value) -> None:
    """One line naming the key when a numeric setting is out of range (or NaN / infinite)."""
    if not ok:
        raise ValueError(f"{key} must be {want}, got {value!r}")


def _finite(x) -> bool:
    import math
    return x is not None and math.isfinite(float(x))


CONFIG_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs")

def _dataset_names() -> Tuple[str, ...]:
    from datasets.registry import list_datasets
    return list_datasets()


DATASETS = _dataset_names()


@dataclass
class DataConfig:
    """One dataset split read by a real-format loader (``datasets.registry``)."""

    dataset: str = "synthetic_animal"     # see `datasets.registry.list_datasets()`: synthetic_animal | tigdog |
                                          # animalpose | coco | crowdpose | ap10k | coco_keypoints | dlc
    root: str = "runs/demo/data"          # the layout written by `animalpose generate`, or the real download
    split: str = "train"                  # synthetic: train/valid/all; tigdog: train/test/all; coco: train2017/...;
                                          # crowdpose: train/val/trainval/test; ap10k: train/val/test; dlc: all/train/test
    animal: str = "horse"                 # synthetic_animal / tigdog species
    crop: str = "ccssl"                   # tigdog crop protocol: ccssl | uda
    split_dir: Optional[str] = None       # official split index files (tigdog/synthetic), else by-video split
    categories: List[str] = field(default_factory=list)   # keep these categories (names or ids; empty: all)
    exclude: List[str] = field(default_factory=list)      # animalpose: drop these
    spec: str = ""                        # coco_keypoints / dlc: read the joints by name into this spec (name or
                                          # spec .yaml); "" = the file's own
    ann_file: Optional[str] = None        # coco_keypoints (also coco / animalpose): the annotation JSON (relative: to root)
    img_dir: Optional[str] = None         # its image folder (default: found beside the file, see docs/datasets.md)
    flip_pairs: Optional[List[List[str]]] = None   # coco_keypoints / dlc: flip partners by name (default: inferred)
    box_convention: str = "hrnet"         # COCO-style files: x,y,w,h -> box and crop as hrnet | mmpose | darkpose
                                          # (DarkPose: (w - 1) / 2 centres, GT width x2 - x1 + 1)
    test_videos: List[str] = field(default_factory=list)  # dlc: videos of the test split
    split_by: str = "video"               # dlc: video | frame
    test_fraction: Optional[float] = None  # dlc: test share (default 1 - TrainingFraction[0])
    split_seed: int = 0                   # dlc: seed of the split
    box_margin: float = 20.0              # dlc: box = labelled joints +- this many pixels
    limit: Optional[int] = None           # use only the first N instances (quick runs)
    det_file: Optional[str] = None        # coco/crowdpose top-down: person detections (COCO results JSON), not GT boxes
    det_score_threshold: float = 0.0      # coco/crowdpose top-down: detections below this score are dropped
    occlusion_visible: bool = False       # synthetic_animal: supervise occluded in-image joints too (the
                                          # reference's train_with_occlusion = True)
    vertex_ids: Optional[List[int]] = None   # synthetic_animal: mesh vertex ids of the 18 joints, for an animal
                                          # without a built-in table (e.g. the elephant: take them from its release)

    def __post_init__(self):
        if self.dataset not in DATASETS:
            raise ValueError(f"dataset must be one of {', '.join(DATASETS)}, got {self.dataset!r}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit must be >= 1, got {self.limit}")
        if self.vertex_ids is not None:
            if self.dataset != "synthetic_animal":
                raise ValueError(f"vertex_ids applies to synthetic_animal data only, not {self.dataset}")
            if len(self.vertex_ids) != 18 or any(not isinstance(v, int) or v < 0 for v in self.vertex_ids):
                raise ValueError(f"vertex_ids must be 18 non-negative vertex indices (the 18 joints in loader "
                                 f"order), got {self.vertex_ids!r}")
        if self.occlusion_visible and self.dataset != "synthetic_animal":
            raise ValueError(f"occlusion_visible applies to synthetic_animal data only, not {self.dataset}")
        if self.box_convention not in ("hrnet", "mmpose", "darkpose"):
            raise ValueError(f"box_convention must be hrnet, mmpose or darkpose, got {self.box_convention!r}")
        if self.split_by not in ("video", "frame"):
            raise ValueError(f"split_by must be video or frame, got {self.split_by!r}")
        if self.box_margin < 0:
            raise ValueError(f"box_margin must be >= 0, got {self.box_margin}")


@dataclass
class ModelConfig:
    name: str = "hourglass"               # see `animalpose.models.list_models()`
    options: Dict[str, Any] = field(default_factory=dict)   # e.g. {stacks: 2, blocks: 1, features: 64}
    pretrained: Optional[str] = None      # checkpoint to start from (loaded strictly)


@dataclass
class CodecConfig:
    name: str = "bearpaw"                 # msra | dark | udp | udp_combined | bearpaw | dekr (bottom-up)
    input_size: Tuple[int, int] = (256, 256)     # (w, h)
    heatmap_size: Tuple[int, int] = (64, 64)     # (w, h)
    sigma: float = 1.0
    options: Dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        for key in ("input_size", "heatmap_size"):
            v = getattr(self, key)
            _require(len(v) == 2 and all(int(x) >= 1 for x in v), f"codec.{key}", "two integers >= 1 (w, h)", v)
        _require(_finite(self.sigma) and self.sigma > 0, "codec.sigma", "a finite number > 0", self.sigma)


@dataclass
class AugmentConfig:
    recipe: str = "bearpaw"               # none | hrnet | simplebaseline | bearpaw | ccssl_strong | mmpose
    warp: str = "standard"                # standard | unbiased (DARK) | udp
    overrides: Dict[str, Any] = field(default_factory=dict)   # AugmentRecipe fields, e.g. {flip_prob: 0}
    antialias: bool = False               # antialiased crops (PIL bilinear when shrinking, as the reference CC-SSL
                                          # crops through scipy imresize); False: cv2.warpAffine
    scale_dtype: str = "float64"          # float32: crop scale * 200 in float32 as HRNet / DarkPose / UDP (their
                                          # loaders' dtype; float64 moves crop points by up to ~4e-4 px)

    def __post_init__(self):
        if self.scale_dtype not in ("float32", "float64"):
            raise ValueError(f"augment.scale_dtype must be float32 or float64, got {self.scale_dtype!r}")


@dataclass
class NormalizeConfig:
    mean: Tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: Optional[Tuple[float, float, float]] = (0.229, 0.224, 0.225)   # null: subtract the mean only (bearpaw)
    bgr: bool = False
    bytescale: bool = False
    mean_file: Optional[str] = None       # CC-SSL mean file (mean.pth.tar, mean_by_video.pth.tar: {'mean', 'std'});
                                          # its mean replaces `mean` (and its std `std`, unless std is null)


@dataclass
class OptimConfig:
    name: str = "rmsprop"                 # rmsprop | adam | sgd
    lr: float = 2.5e-4
    momentum: float = 0.0
    weight_decay: float = 0.0
    milestones: List[int] = field(default_factory=list)   # epochs where lr *= gamma
    gamma: float = 0.1
    betas: List[float] = field(default_factory=lambda: [0.9, 0.999])   # adam: moment decay rates
    warmup_iters: int = 0                 # linear warm-up over the first N iterations (mmpose: 500) ...
    warmup_factor: float = 0.001          # ... from lr * factor to lr (mmpose LinearLR start_factor)
    scheduler_step: str = "after_epoch"   # after_epoch | before_epoch (HRNet / SimpleBaseline call
                                          # lr_scheduler.step() before each epoch: the decay lands one epoch early)

    def __post_init__(self):
        if self.name not in ("rmsprop", "adam", "sgd"):
            raise ValueError(f"optim.name must be rmsprop, adam or sgd, got {self.name!r}")
        _require(_finite(self.lr) and self.lr > 0, "optim.lr", "a finite number > 0", self.lr)
        for key in ("momentum", "weight_decay"):
            v = getattr(self, key)
            _require(_finite(v) and v >= 0, f"optim.{key}", "a finite number >= 0", v)
        _require(_finite(self.gamma) and self.gamma > 0, "optim.gamma", "a finite number > 0", self.gamma)
        _require(all(int(m) >= 0 for m in self.milestones), "optim.milestones", "epochs >= 0", self.milestones)
        if len(self.betas) != 2 or not all(0.0 <= b < 1.0 for b in self.betas):
            raise ValueError(f"optim.betas must be two numbers in [0, 1), got {self.betas}")
        if self.scheduler_step not in ("after_epoch", "before_epoch"):
            raise ValueError(f"optim.scheduler_step must be after_epoch or before_epoch, got {self.scheduler_step!r}")
        if self.warmup_iters < 0 or not 0.0 < self.warmup_factor <= 1.0:
            raise ValueError(f"optim.warmup_iters must be >= 0 and optim.warmup_factor in (0, 1], got "
                             f"{self.warmup_iters}, {self.warmup_factor}")


@dataclass
class LossConfig:
    name: str = "joints_mse"              # joints_mse | combined_target (UDP) | dekr
    use_target_weight: bool = True
    joint_weights: Optional[List[float]] = None
    heatmap_weight: float = 1.0           # dekr: heatmap MSE factor
    offset_weight: float = 0.03           # dekr: smooth-L1 offset factor

    def __post_init__(self):
        for key in ("heatmap_weight", "offset_weight"):
            v = getattr(self, key)
            _require(_finite(v) and v >= 0, f"loss.{key}", "a finite number >= 0", v)
        _require(self.joint_weights is None or all(_finite(w) and w >= 0 for w in self.joint_weights),
                 "loss.joint_weights", "null or finite numbers >= 0", self.joint_weights)


@dataclass
class BottomUpConfig:
    """Bottom-up (DEKR) augmentation and test settings; used when ``codec.name`` is ``dekr``."""

    max_rotation: float = 30.0            # rotation U(-r, r) degrees
    min_scale: float = 0.75               # scale U(min, max) of the short image side
    max_scale: float = 1.5
    max_translate: float = 40.0           # centre shift U_int(-t*s, t*s) px, s = side / 200
    flip_prob: float = 0.5
    scale_type: str = "short"             # short | long: the image side mapped onto the input
    min_center_area: float = 1024.0       # persons with annotation area < 32^2 get no centre / offsets
    test_scales: List[float] = field(default_factory=lambda: [1.0])   # multi-scale test, e.g. [2, 1, 0.5]
    flip_shift: int = 3                   # flip test: mirrored input shifted left by this many pixels
    rescore: Optional[str] = None         # DEKR rescore-net checkpoint (final_rescore_coco_kpt.pth)
    offset_area: str = "official"         # official: w^2 + h^2 of ALL keypoint rows of the file (unlabelled (0, 0)
                                          # and the centre row included, so the image origin is inside), scaled to
                                          # input pixels, as DEKR's get_joints + RandomAffineTransform | labelled:
                                          # the labelled joints' extent in heatmap pixels (7-18x larger 1/sqrt weights)
    train_images: str = "any_annotation"  # any_annotation: every image with an annotation, crowd-only and
                                          # unlabelled-only ones too (DEKR) | with_people: images with a labelled joint
    multi_scale_nms_threshold: float = 0.15   # pose-NMS threshold with more than one test scale (the official
                                              # multi-scale commands set TEST.NMS_THRE 0.15; one scale: the codec's 0.05)
    unlabelled_center: str = "none"       # none: a person with no labelled joint gets no centre | origin: DEKR's
                                          # get_joints quirk, a centre target at the (transformed) image origin
                                          # when its area is >= min_center_area
    flip_convention: str = "exact"        # exact: mirror the image before the warp, targets exactly on the mirrored
                                          # image | official: DEKR mirrors after the warp and sets x' = W_hm - 1 - x on
                                          # the heatmap, 0.75 heatmap px (stride 4) left of the mirrored image

    def __post_init__(self):
        if self.scale_type not in ("short", "long"):
            raise ValueError(f"bottomup.scale_type must be short or long, got {self.scale_type!r}")
        if 1.0 not in [float(s) for s in self.test_scales]:
            raise ValueError(f"bottomup.test_scales must contain 1.0, got {self.test_scales}")
        if self.offset_area not in ("official", "labelled"):
            raise ValueError(f"bottomup.offset_area must be official or labelled, got {self.offset_area!r}")
        if self.unlabelled_center not in ("none", "origin"):
            raise ValueError(f"bottomup.unlabelled_center must be none or origin, got {self.unlabelled_center!r}")
        if self.flip_convention not in ("exact", "official"):
            raise ValueError(f"bottomup.flip_convention must be exact or official, got {self.flip_convention!r}")
        if self.train_images not in ("any_annotation", "with_people"):
            raise ValueError(f"bottomup.train_images must be any_annotation or with_people, got {self.train_images!r}")
        _require(_finite(self.multi_scale_nms_threshold) and self.multi_scale_nms_threshold > 0,
                 "bottomup.multi_scale_nms_threshold", "a finite number > 0", self.multi_scale_nms_threshold)
        if not 0 < self.min_scale <= self.max_scale:
            raise ValueError(f"bottomup: need 0 < min_scale <= max_scale, got {self.min_scale}, {self.max_scale}")


@dataclass
class TrainConfig:
    epochs: int = 100
    batch_size: int = 6
    workers: int = 2
    seed: int = 0
    deterministic: bool = True
    device: str = "auto"                  # auto | cpu | cuda | cuda:N
    val_every: int = 1                    # validate every N epochs (0: never)
    log_images: int = 4                   # prediction images written to TensorBoard per validation
    max_steps_per_epoch: Optional[int] = None   # cap iterations per epoch (quick runs)
    grad_clip: Optional[float] = None
    world_size: int = 1                   # processes (GPUs) the recipe assumes; total batch = batch_size * world_size
                                          # (the official runs: HRNet 4 x 32, DEKR 4 x 10); launch with torchrun
    channels_last: bool = True            # NHWC convs: a demo-hourglass step is 1.33x faster on the 2-core CPU

    def __post_init__(self):
        for key, low in (("epochs", 1), ("batch_size", 1), ("workers", 0), ("val_every", 0), ("log_images", 0),
                         ("world_size", 1)):
            v = getattr(self, key)
            _require(v >= low, f"train.{key}", f"an integer >= {low}", v)
        _require(self.max_steps_per_epoch is None or self.max_steps_per_epoch >= 1, "train.max_steps_per_epoch",
                 "null or an integer >= 1", self.max_steps_per_epoch)
        _require(self.grad_clip is None or (_finite(self.grad_clip) and self.grad_clip > 0), "train.grad_clip",
                 "null or a finite number > 0", self.grad_clip)


@dataclass
class EvalConfig:
    protocol: str = "ccssl"               # ccssl | uda | pck-bbox | coco (on CrowdPose data: the CrowdPose protocol)
    flip: bool = False
    batch_size: int = 6                   # the CC-SSL mean depends on it (reference: 6)
    alpha: float = 0.05                   # pck-bbox threshold
    selection: str = "val"                # what val_data is: val (best.pt = model selection on a validation
                                          # split) | test (best_on_test.pt, labelled as selection on the test set)

    def __post_init__(self):
        _require(self.batch_size >= 1, "eval.batch_size", "an integer >= 1", self.batch_size)
        _require(_finite(self.alpha) and 0 < self.alpha <= 1, "eval.alpha", "a number in (0, 1]", self.alpha)
        if self.selection not in ("val", "test"):
            raise ValueError(f"eval.selection must be val or test, got {self.selection!r}")


@dataclass
class CCSSLConfig:
    """CC-SSL adaptation (``animalpose adapt --method ccssl``); see :mod:`ccssl`."""

    target_data: DataConfig = field(default_factory=lambda: DataConfig(dataset="tigdog", split="train"))
    target_augment: AugmentConfig = field(default_factory=lambda: AugmentConfig(recipe="bearpaw"))
    gamma: float = 10.0                   # loss = source + gamma * target
    label_every: int = 10                 # regenerate pseudo-labels every N epochs
    num_transforms: int = 5               # equivariance: identity + N-1 random scale/rotation re-crops
    scale_factor: float = 0.25
    rot_factor: float = 30.0
    equivariance: bool = True             # False: identity view only
    flip: bool = False                    # add flipped views to the average (UDA's variant)
    invariance: int = 0                   # photometric views added to the average
    invariance_reject: Optional[float] = None   # drop joints whose photometric views move > this (input px)
    min_separation: Optional[float] = None  # exclusivity: of two joints closer than this (input px) keep the
                                          # more confident only (None = off, as in the reference)
    views: str = "image"                  # image: each image draws its own re-crops (reference); batch: one
                                          # draw shared by the whole labelling batch (the kit before 2026-12)
    view_padding: str = "mean"            # re-crop border: mean (the dataset mean grey, input ~ 0, reference)
                                          # | black (input = -mean)
    target_context: str = "frame"         # frame: augment target crops in the full frame; crop: augment the saved
                                          # identity crop, black outside it (reference)
    temporal: bool = True                 # Lucas-Kanade propagation from the previous frame
    respect_shots: bool = True            # False: previous sample in loader order (reference)
    flow_side_effect: bool = False        # True: a joint rejected by the flow (moved > max_flow) also zeroes the
                                          # previous frame's stored confidence (reference: flow_conf is a view)
    decay: float = 0.9
    max_flow: float = 15.0
    curriculum_start: int = 10            # p = max(floor, 1 - rate * (epoch + start))
    curriculum_rate: float = 0.02
    curriculum_floor: float = 0.2
    finetune_epochs: int = 0              # CC-SSL-R: fine-tune on real labels afterwards

    def __post_init__(self):
        if self.min_separation is not None and not self.min_separation > 0:
            raise ValueError(f"ccssl.min_separation must be > 0 (or null to disable), got {self.min_separation}")
        if not self.gamma >= 0:
            raise ValueError(f"ccssl.gamma must be >= 0 (0: the no-target control), got {self.gamma}")
        for key, value, allowed in (("views", self.views, ("image", "batch")),
                                    ("view_padding", self.view_padding, ("mean", "black")),
                                    ("target_context", self.target_context, ("frame", "crop"))):
            if value not in allowed:
                raise ValueError(f"ccssl.{key} must be {' or '.join(allowed)}, got {value!r}")


# WS-CDA / PPLO (``animalpose adapt --method wscda|pplo``); see :mod:`wscda`.
PPLO_SCHEDULES = ("linear", "geometric")
PPLO_THRESHOLD_MODES = ("absolute", "quantile")


@dataclass
class DiscriminatorConfig:
    channels: int = 64                    # width of the conv blocks
    layers: int = 2                       # 3x3 stride-2 conv + BN + LeakyReLU blocks before the pooled linear
    lr_mult: float = 1.0                  # discriminator lr = optim.lr * lr_mult


@dataclass
class PPLOConfig:
    """Progressive pseudo-label optimisation (``animalpose adapt --method pplo``)."""

    rounds: int = 3                       # labelling rounds
    epochs_per_round: int = 2             # training epochs after each labelling
    threshold_start: float = 0.6          # first-round threshold (strictest)
    threshold_end: float = 0.3            # last-round threshold (most relaxed)
    schedule: str = "linear"              # linear | geometric interpolation start -> end
    threshold_mode: str = "absolute"      # absolute: heatmap peak >= thr; quantile: peak >= quantile(peaks, thr)
    min_joints: int = 3                   # instances with fewer confident joints are not used
    weight: float = 1.0                   # pseudo-labelled images: L_A times this
    flip: bool = False                    # average with the mirrored prediction when labelling
    adversarial: bool = True              # keep L_DDL on while training with pseudo-labels
    lr: Optional[float] = None            # override optim.lr for the PPLO epochs (milestones dropped)

    def __post_init__(self):
        if self.rounds < 1 or self.epochs_per_round < 1:
            raise ValueError(f"pplo.rounds and pplo.epochs_per_round must be >= 1, got {self.rounds}, "
                             f"{self.epochs_per_round}")
        if self.schedule not in PPLO_SCHEDULES:
            raise ValueError(f"pplo.schedule must be one of {', '.join(PPLO_SCHEDULES)}, got {self.schedule!r}")
        if self.threshold_mode not in PPLO_THRESHOLD_MODES:
            raise ValueError(f"pplo.threshold_mode must be absolute or quantile, got {self.threshold_mode!r}")
        if self.threshold_end > self.threshold_start:
            raise ValueError(f"pplo thresholds must relax: threshold_end ({self.threshold_end}) > "
                             f"threshold_start ({self.threshold_start})")
        if self.schedule == "geometric" and self.threshold_end <= 0:
            raise ValueError("pplo.schedule geometric needs threshold_end > 0")
        if self.threshold_mode == "quantile" and not 0 <= self.threshold_end <= self.threshold_start <= 1:
            raise ValueError("pplo quantile thresholds must lie in [0, 1]")


@dataclass
class WSCDAConfig:
    """WS-CDA (``animalpose adapt --method wscda``) and its PPLO stage."""

    human_data: DataConfig = field(default_factory=lambda: DataConfig(dataset="coco", split="train2017"))
    target_data: DataConfig = field(default_factory=lambda: DataConfig(dataset="animalpose", categories=["horse"]))
    human_augment: Optional[AugmentConfig] = None    # default: the experiment's augment
    target_augment: Optional[AugmentConfig] = None   # default: the experiment's augment
    test_fraction: float = 0.2            # part of the target images held out for evaluation
    split_seed: int = 0
    use_human: bool = True                # False: animal labels only (baseline a)
    use_target: bool = True               # unlabelled target-species stream (z term)
    adversarial: bool = True              # False: no discriminator (baseline b "with human")
    alpha: float = -1.0                   # L = alpha * L_DDL + beta * L_pose, alpha * beta < 0 (paper: -1, 500)
    beta: float = 500.0
    w1: float = 1.0                       # weight of the human-vs-animal term of L_DDL
    w2: float = 1.0                       # weight of the animal pose loss L_A
    reduction: str = "mean"               # mean | sum (the paper's sums)
    grl_schedule: str = "constant"        # constant | dann (2/(1+exp(-10p))-1 ramp)
    human_batch_size: Optional[int] = None    # default: train.batch_size
    target_batch_size: Optional[int] = None   # default: train.batch_size
    feature_layer: str = ""               # module whose output (or NAME:input) feeds the discriminator; "" = default
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    pplo: PPLOConfig = field(default_factory=PPLOConfig)

    def __post_init__(self):
        if not 0 < self.test_fraction < 1:
            raise ValueError(f"test_fraction must be in (0, 1), got {self.test_fraction}")
        if self.adversarial and not (self.alpha < 0 < self.beta):
            raise ValueError(f"alpha * beta must be < 0 with beta > 0 (the paper: alpha -1, beta 500); got alpha "
                             f"{self.alpha}, beta {self.beta} (set adversarial: false to switch the discriminator off)")
        if not self.beta > 0:
            raise ValueError(f"beta must be > 0, got {self.beta}")
        if self.reduction not in ("mean", "sum"):
            raise ValueError(f"reduction must be mean or sum, got {self.reduction!r}")
        if self.grl_schedule not in ("constant", "dann"):
            raise ValueError(f"grl_schedule must be constant or dann, got {self.grl_schedule!r}")
        for n in ("human_batch_size", "target_batch_size"):
            v = getattr(self, n)
            if v is not None and v < 1:
                raise ValueError(f"{n} must be >= 1, got {v}")

    @property
    def discriminates(self) -> bool:
        """Whether a discriminator is trained (needs two domains in the batch)."""
        return self.adversarial and (self.use_human or self.use_target)


@dataclass
class ExperimentConfig:
    name: str = "experiment"
    description: str = ""
    spec: str = "tigdog18"                # spec name, path of a spec .yaml, or "auto" (the training data's own)
    model: ModelConfig = field(default_factory=ModelConfig)
    codec: CodecConfig = field(default_factory=CodecConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    normalize: NormalizeConfig = field(default_factory=NormalizeConfig)
    train_data: DataConfig = field(default_factory=DataConfig)
    val_data: Optional[DataConfig] = None
    optim: OptimConfig = field(default_factory=OptimConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    ccssl: Optional[CCSSLConfig] = None
    bottomup: Optional[BottomUpConfig] = None     # bottom-up settings (defaults when absent)
    wscda: Optional[WSCDAConfig] = None           # WS-CDA / PPLO adaptation
    method: Dict[str, Any] = field(default_factory=dict)   # settings of an adaptation method of the registry
                                                           # (engine.methods), read into its own dataclass


def is_bottomup(cfg: ExperimentConfig) -> bool:
    """Whether ``cfg`` is a bottom-up (DEKR) experiment: its codec is ``dekr``."""
    return cfg.codec.name == "dekr"


def list_configs() -> List[str]:
    """Names of the presets shipped in ``animalpose/configs``."""
    return sorted(f[:-5] for f in os.listdir(CONFIG_DIR) if f.endswith(".yaml"))


def resolve_config_path(name_or_path: str) -> str:
    """A packaged preset name or a path to a YAML file -> the file path."""
    if os.path.isfile(name_or_path):
        return name_or_path
    if name_or_path.endswith((".yaml", ".yml")) or os.sep in name_or_path:
        raise ConfigError(f"{name_or_path}: config file not found")
    path = os.path.join(CONFIG_DIR, f"{name_or_path}.yaml")
    if not os.path.isfile(path):
        raise ConfigError(f"unknown config {name_or_path!r}; packaged configs: {', '.join(list_configs())} "
                          "(or give a path to a .yaml file)")
    return path


def load_experiment(name_or_path: str, overrides: Sequence[str] = ()) -> ExperimentConfig:
    """The experiment config of a packaged preset or YAML path, with ``key=value`` overrides."""
    return configio.load(ExperimentConfig, resolve_config_path(name_or_path), overrides)


def save_experiment(cfg: ExperimentConfig, path: str) -> None:
    """Write the resolved config as YAML (next to a run's outputs)."""
    configio.dump(cfg, path)


__all__ = ["ConfigError", "DataConfig", "ModelConfig", "CodecConfig", "AugmentConfig", "NormalizeConfig",
           "OptimConfig", "LossConfig", "TrainConfig", "EvalConfig", "CCSSLConfig", "BottomUpConfig", "DiscriminatorConfig", "PPLOConfig",
           "WSCDAConfig", "ExperimentConfig",
           "is_bottomup", "list_configs",
           "load_experiment", "save_experiment", "resolve_config_path", "CONFIG_DIR"]
