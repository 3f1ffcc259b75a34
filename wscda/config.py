"""Configuration of WS-CDA and PPLO: the ``wscda:`` section of an experiment YAML.

The engine's :class:`~animalpose.engine.config.ExperimentConfig` has no
``wscda`` field (yet), so :func:`load_wscda_experiment` reads the YAML, applies
``--set`` overrides to the whole document, pops the ``wscda`` mapping and
builds the two configs separately with the engine's strict
:func:`~animalpose.engine.configio.from_dict` (unknown keys and wrong types
fail with one line naming the key and file).  Integrating it later is one
line in ``ExperimentConfig``: ``wscda: Optional[WSCDAConfig] = None``.

Streams (see :mod:`wscda.trainer`):

* ``train_data`` of the experiment - the small pose-labelled animal set
  (Animal-Pose, the target species excluded), ``y = 1, z = 0``;
* ``wscda.human_data`` - the large pose-labelled human set (COCO),
  ``y = 0, z = 0``; its joints enter the animal spec through
  ``coco17_to_animalpose20`` (unmapped animal joints get weight 0);
* ``wscda.target_data`` - the unseen target species, **boxes only** (its
  keypoints are dropped on load), ``y = 1, z = 1``.  Its images are split by
  image id into ``1 - test_fraction`` unlabelled training instances and a
  ``test_fraction`` evaluation part (used as validation set when the
  experiment has no ``val_data``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional, Sequence, Tuple

from animalpose.engine import configio
from animalpose.engine.config import AugmentConfig, DataConfig, ExperimentConfig, resolve_config_path
from animalpose.engine.configio import ConfigError

SCHEDULES = ("linear", "geometric")
THRESHOLD_MODES = ("absolute", "quantile")


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
        if self.schedule not in SCHEDULES:
            raise ValueError(f"pplo.schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        if self.threshold_mode not in THRESHOLD_MODES:
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


def load_wscda_experiment(name_or_path: str, overrides: Sequence[str] = ()
                          ) -> Tuple[ExperimentConfig, WSCDAConfig]:
    """``(ExperimentConfig, WSCDAConfig)`` of a packaged preset or YAML path with ``key=value`` overrides
    (``wscda.*`` keys go to the WS-CDA section).  A file without a ``wscda`` section is an error."""
    path = resolve_config_path(name_or_path)
    data: Dict = configio.read_yaml(path)
    where = path
    if overrides:
        data = configio.apply_overrides(data, overrides)
        where = f"{path} (with --set)"
    section = data.pop("wscda", None)
    if section is None:
        raise ConfigError(f"{path}: the config has no `wscda` section (see animalpose/configs/wscda_*.yaml)")
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: `wscda` must be a mapping")
    try:
        cfg = configio.from_dict(ExperimentConfig, data)
        wcfg = configio.from_dict(WSCDAConfig, section, "wscda")
    except ConfigError as e:
        raise ConfigError(f"{where}: {e}") from None
    return cfg, wcfg


__all__ = ["DiscriminatorConfig", "PPLOConfig", "WSCDAConfig", "load_wscda_experiment"]
