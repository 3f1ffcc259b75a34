"""Configuration of WS-CDA and PPLO: the ``wscda:`` section of an experiment YAML.

The dataclasses live with the other sections in :mod:`animalpose.engine.config`
(``ExperimentConfig.wscda``) and are re-exported here;
:func:`load_wscda_experiment` loads an experiment and insists on the section.

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

from typing import Sequence, Tuple

from animalpose.engine.config import (DiscriminatorConfig, ExperimentConfig, PPLOConfig, WSCDAConfig,
                                      load_experiment, resolve_config_path)
from animalpose.engine.configio import ConfigError


def load_wscda_experiment(name_or_path: str, overrides: Sequence[str] = ()
                          ) -> Tuple[ExperimentConfig, WSCDAConfig]:
    """``(ExperimentConfig, its WSCDAConfig)`` of a packaged preset or YAML path with ``key=value`` overrides.
    A file without a ``wscda`` section is an error."""
    cfg = load_experiment(name_or_path, overrides)
    if cfg.wscda is None:
        raise ConfigError(f"{resolve_config_path(name_or_path)}: the config has no `wscda` section "
                          "(see animalpose/configs/wscda_*.yaml)")
    return cfg, cfg.wscda


__all__ = ["DiscriminatorConfig", "PPLOConfig", "WSCDAConfig", "load_wscda_experiment"]
