"""The trainer of a config: top-down or bottom-up (DEKR). Sits above both trainer modules, so
neither imports the other."""
from __future__ import annotations

from .config import ExperimentConfig
from .trainer import Trainer

__all__ = ["make_trainer"]


def make_trainer(cfg: ExperimentConfig, out_dir: str, **kwargs) -> "Trainer":
    """:class:`Trainer` for top-down configs, :class:`~animalpose.engine.bottomup.BottomUpTrainer` for
    bottom-up (DEKR) ones."""
    from .config import is_bottomup
    if is_bottomup(cfg):
        from .bottomup import BottomUpTrainer
        return BottomUpTrainer(cfg, out_dir, **kwargs)
    return Trainer(cfg, out_dir, **kwargs)
