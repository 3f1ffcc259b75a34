"""``animalpose adapt``: domain adaptation of a source-pretrained checkpoint, dispatched through the
method registry (:mod:`animalpose.engine.methods`)."""
from __future__ import annotations

import importlib
import os

from ..engine.config import list_configs
from ..engine.methods import get_method, list_methods
from ._common import (add_run_folder_options, add_runtime_options, check_run_folder_options, print_done,
                      runtime_overrides)

#: modules that register the adaptation methods; a new method is one module and one line here
METHOD_MODULES = ["ccssl.method", "wscda.method"]


def load_methods() -> None:
    for mod in METHOD_MODULES:
        importlib.import_module(mod)


def register(sub, formatter):
    load_methods()
    methods = list_methods()
    p = sub.add_parser(
        "adapt", formatter_class=formatter, help="adapt a model to the target domain (" + ", ".join(methods) + ")",
        description="Adapt a checkpoint trained on the source domain to unlabelled target data. Methods: "
                    + "; ".join(f"{m}: {get_method(m).help}" for m in methods) + ". ccssl: every ccssl.label_every "
                    "epochs the model labels the target training set (equivariance over re-crops, optional "
                    "invariance and flip views, Lucas-Kanade temporal consistency within each shot), a confidence "
                    "curriculum keeps the confident joints, and training minimises source loss + gamma * target "
                    "loss; writes the run folder like `pretrain` plus OUT/ssl_labels/round_EEE.npz. Packaged "
                    "configs: " + ", ".join(list_configs()) + ".")
    p.add_argument("--method", choices=methods, default="ccssl", help="adaptation method")
    p.add_argument("--source", required=False, default=None,
                   help="checkpoint to start from: source-pretrained (ccssl), optional (wscda), the WS-CDA model "
                        "(pplo); not needed with --resume")
    p.add_argument("--config", required=True,
                   help="config name or YAML path with a `ccssl` (ccssl), `wscda` (wscda, pplo) or `method` section")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value (repeatable), e.g. --set ccssl.gamma=5")
    for m in methods:
        get_method(m).add_arguments(p)
    add_run_folder_options(p)
    add_runtime_options(p, "runs/adapt")
    return p


def _foreign_flags(args, method) -> list:
    """Flags of other methods that were given (not at their defaults)."""
    given = []
    for name in list_methods():
        other = get_method(name)
        if other is method:
            continue
        given += [f for f in other.flags if f not in method.flags and getattr(args, f, None) not in (None, False)]
    return sorted(set(given))


def run(args) -> int:
    check_run_folder_options(args)
    load_methods()
    method = get_method(args.method)
    foreign = _foreign_flags(args, method)
    if foreign:
        raise ValueError(f"--{', --'.join(f.replace('_', '-') for f in foreign)}: not an option of "
                         f"--method {args.method}")
    if not args.resume:
        if args.source is None and method.source == "required":
            raise ValueError(method.missing_source())
        if args.source is not None and not os.path.isfile(args.source):
            raise FileNotFoundError(f"--source: checkpoint not found: {args.source}")
    cfg = method.load_config(args.config, list(args.overrides) + method.overrides(args) + runtime_overrides(args))
    trainer = method.make_trainer(cfg, args)
    result = trainer.fit()
    print_done(trainer, result, trainer.cfg, args.out, method.closing(args))
    method.after_fit(trainer, result, args, print_done)
    return 0
