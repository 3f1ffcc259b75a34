"""Registry of adaptation methods: what ``animalpose adapt --method NAME`` runs.

A method is a :class:`~animalpose.engine.trainer.Trainer` subclass, which supplies the loop
hooks (``setup_method``, ``param_groups``, ``epoch_batches``, ``training_step``, ``end_epoch``, ...),
plus an :class:`AdaptMethod` registered here. The method states its command-line flags, how they
become config overrides, and how its trainer is built. A new method is one new file that defines
both, plus one line in ``animalpose.commands.adapt.METHOD_MODULES``. The tests add ``docs/examples/entropy_method.py``
this way.

A method's own settings live in the experiment's ``method:`` section, a mapping that the method
reads into its own dataclass (:func:`method_section`). CC-SSL and WS-CDA keep their older
``ccssl:`` and ``wscda:`` sections.
"""
from __future__ import annotations

from typing import Dict, List, Optional

__all__ = ["AdaptMethod", "register_method", "get_method", "list_methods", "method_section"]

_METHODS: Dict[str, "AdaptMethod"] = {}


class AdaptMethod:
    """One adaptation method of ``animalpose adapt``.

    Attributes:
        name: the ``--method`` value.
        help: one line for ``--help``.
        source: ``"required"`` / ``"optional"``: whether ``--source CKPT`` must be given (without
            ``--resume``).
        flags: dests of the method's own command-line flags (:meth:`add_arguments`). The command
            refuses them with any other method.
    """

    name = ""
    help = ""
    source = "required"
    flags: tuple = ()

    def missing_source(self) -> str:
        """The one-line error when a required ``--source`` is not given."""
        return f"--method {self.name} needs --source CKPT (the checkpoint it adapts) unless --resume"

    def add_arguments(self, parser) -> None:
        """Add the method's own flags (their dests are listed in :attr:`flags`)."""

    def overrides(self, args) -> List[str]:
        """Config overrides (``KEY=VALUE``) from the method's flags."""
        return []

    def load_config(self, config: str, overrides: List[str]):
        """The experiment config of ``config`` (name or path) with ``overrides``."""
        from .config import load_experiment
        return load_experiment(config, overrides)

    def make_trainer(self, cfg, args):
        """The trainer of this method for ``cfg`` and the command's ``args`` (out, source, resume, ...)."""
        raise NotImplementedError

    def closing(self, args) -> str:
        """An extra phrase for the command's closing line (e.g. where the label rounds are)."""
        return ""

    def after_fit(self, trainer, result, args, done) -> None:
        """Runs after training and its closing line (e.g. CC-SSL-R); ``done(trainer, result, cfg, out)``
        prints the closing line of a further run."""


def register_method(method_cls):
    """Class decorator: register one instance of an :class:`AdaptMethod` subclass under its ``name``."""
    m = method_cls()
    if not m.name:
        raise ValueError(f"{method_cls.__name__}: an adaptation method needs a name")
    _METHODS[m.name] = m
    return method_cls


def list_methods() -> List[str]:
    """Names of the registered methods (those whose modules were imported)."""
    return sorted(_METHODS)


def get_method(name: str) -> AdaptMethod:
    if name not in _METHODS:
        raise ValueError(f"unknown adaptation method {name!r}; known: {', '.join(sorted(_METHODS))}")
    return _METHODS[name]


def method_section(cfg, cls, name: Optional[str] = None):
    """The experiment's ``method:`` mapping read into the dataclass ``cls``: one-line errors name the
    bad key (``method.<key>``)."""
    from .configio import ConfigError, from_dict
    data = dict(cfg.method or {})
    try:
        return from_dict(cls, data, "method")
    except ConfigError as e:
        raise ValueError(f"method ({name or cls.__name__}): {e}") from None
