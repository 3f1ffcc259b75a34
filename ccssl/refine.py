"""CC-SSL-R: the CC-SSL-adapted model fine-tuned with the target's real labels.

The paper's CC-SSL-R row uses the real TigDog annotations on top of CC-SSL; its
training script was never released, so the kit does the plain thing: continue
from the adapted weights and train on ``ccssl.target_data`` *with* its labels,
with the target augmentation (``ccssl.target_augment``) and the adaptation's
optimiser, for ``ccssl.finetune_epochs`` epochs.
"""
from __future__ import annotations

from dataclasses import replace

from animalpose.engine.config import ExperimentConfig


def finetune_config(cfg: ExperimentConfig, checkpoint: str) -> ExperimentConfig:
    """The supervised fine-tuning experiment of CC-SSL-R, starting from ``checkpoint``.

    Raises ``ValueError`` when ``cfg`` has no ``ccssl`` section or ``ccssl.finetune_epochs < 1``.
    """
    ssl = cfg.ccssl
    if ssl is None:
        raise ValueError("CC-SSL-R needs a config with a `ccssl` section")
    if ssl.finetune_epochs < 1:
        raise ValueError(f"ccssl.finetune_epochs must be >= 1 for CC-SSL-R, got {ssl.finetune_epochs}")
    return replace(
        cfg, name=f"{cfg.name}_r", description=f"CC-SSL-R: {cfg.name} fine-tuned with the target labels",
        train_data=ssl.target_data, augment=ssl.target_augment,
        model=replace(cfg.model, pretrained=checkpoint),
        train=replace(cfg.train, epochs=ssl.finetune_epochs, val_every=min(cfg.train.val_every, ssl.finetune_epochs)),
        ccssl=None)
