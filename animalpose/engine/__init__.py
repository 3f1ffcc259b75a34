"""Training engine: typed experiment configs, the top-down data pipeline,
losses, optimisers, the trainer and the evaluation protocols.

Data flows one way: loader -> :class:`~animalpose.engine.data.TopDownDataset`
(augmentation, ``codec.encode``) -> model -> loss; model -> ``codec.decode``
-> :mod:`evaluation` -> report.
"""
from .config import ExperimentConfig, list_configs, load_experiment, save_experiment

__all__ = ["ExperimentConfig", "list_configs", "load_experiment", "save_experiment"]
