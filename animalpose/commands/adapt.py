"""``animalpose adapt``: domain adaptation of a source-pretrained checkpoint."""
from __future__ import annotations

import os

from ..engine.config import list_configs, load_experiment
from ._common import (add_run_folder_options, add_runtime_options, check_run_folder_options, print_done,
                      runtime_overrides)

METHODS = ("ccssl", "wscda", "pplo")


def register(sub, formatter):
    p = sub.add_parser(
        "adapt", formatter_class=formatter, help="adapt a model to the target domain (CC-SSL, WS-CDA, PPLO)",
        description="Adapt a checkpoint trained on the source domain to unlabelled target data. ccssl: "
                    "consistency-constrained pseudo-labelling (Mu et al. 2020): every ccssl.label_every epochs the "
                    "model labels the target training set (equivariance over re-crops, optional invariance and "
                    "flip views, Lucas-Kanade temporal consistency within each shot), a confidence curriculum "
                    "keeps the confident joints, and training minimises source loss + gamma * target loss. Writes "
                    "the run folder like `pretrain` plus OUT/ssl_labels/round_EEE.npz. Packaged configs: "
                    + ", ".join(list_configs()) + ".")
    p.add_argument("--method", choices=METHODS, default="ccssl", help="adaptation method")
    p.add_argument("--source", required=False, default=None,
                   help="checkpoint to start from: source-pretrained (ccssl), optional (wscda), the WS-CDA model "
                        "(pplo); not needed with --resume")
    p.add_argument("--config", required=True,
                   help="config name or YAML path with a `ccssl` (ccssl) or `wscda` (wscda, pplo) section")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value (repeatable), e.g. --set ccssl.gamma=5")
    p.add_argument("--no-equivariance", action="store_true", help="ablation: identity view only")
    p.add_argument("--no-temporal", action="store_true", help="ablation: no optical-flow propagation")
    p.add_argument("--no-target", action="store_true",
                   help="control: gamma = 0, so the pseudo-labelled target batches still pass through the network "
                        "(BatchNorm statistics) but add no loss; the same steps of source training")
    p.add_argument("--invariance", type=int, default=None, help="photometric views added to the average")
    p.add_argument("--flip", action="store_true", help="add mirrored views to the pseudo-label average")
    p.add_argument("--reference-shots", action="store_true",
                   help="propagate from the previous sample even across shot boundaries (the reference code)")
    p.add_argument("--finetune-epochs", type=int, default=None, metavar="N",
                   help="CC-SSL-R: afterwards fine-tune the adapted model for N epochs with the target's real "
                        "labels (ccssl.target_data) into OUT/refined (sets ccssl.finetune_epochs)")
    add_run_folder_options(p)
    add_runtime_options(p, "runs/adapt")
    return p


#: consistency (or the target loss) switched off -> config override (the --no-* flags here,
#: `animalpose demo --ablation`)
ABLATION_OVERRIDES = {"no_equivariance": "ccssl.equivariance=false", "no_temporal": "ccssl.temporal=false",
                      "no_target": "ccssl.gamma=0"}


def ablation_overrides(args) -> list:
    out = [o for name, o in ABLATION_OVERRIDES.items() if getattr(args, name)]
    if args.invariance is not None:
        if args.invariance < 0:
            raise ValueError(f"--invariance must be >= 0, got {args.invariance}")
        out.append(f"ccssl.invariance={args.invariance}")
    if args.flip:
        out.append("ccssl.flip=true")
    if args.reference_shots:
        out.append("ccssl.respect_shots=false")
    if args.finetune_epochs is not None:
        if args.finetune_epochs < 0:
            raise ValueError(f"--finetune-epochs must be >= 0, got {args.finetune_epochs}")
        out.append(f"ccssl.finetune_epochs={args.finetune_epochs}")
    return out


def run(args) -> int:
    check_run_folder_options(args)
    if args.method in ("wscda", "pplo"):
        return run_wscda(args)
    from ccssl.trainer import CCSSLTrainer
    if not args.resume:
        if args.source is None:
            raise ValueError("--source CKPT is required (the source-pretrained checkpoint) unless --resume")
        if not os.path.isfile(args.source):
            raise FileNotFoundError(f"--source: checkpoint not found: {args.source}")
    cfg = load_experiment(args.config, list(args.overrides) + ablation_overrides(args) + runtime_overrides(args))
    trainer = CCSSLTrainer(cfg, args.out, source_checkpoint=args.source, resume=args.resume, quiet=args.quiet,
                           overwrite=args.overwrite)
    result = trainer.fit()
    print_done(trainer, result, cfg, args.out, f", labels in {args.out}/ssl_labels/")
    if cfg.ccssl is not None and cfg.ccssl.finetune_epochs > 0:
        from ccssl.refine import finetune_config
        from ..engine.trainer import Trainer
        refined_dir = os.path.join(args.out, "refined")
        rcfg = finetune_config(cfg, trainer.last_path)
        print(f"CC-SSL-R: fine-tuning with the target labels for {rcfg.train.epochs} epochs -> {refined_dir}")
        again = args.resume and os.path.isfile(os.path.join(refined_dir, "last.pt"))
        # resuming before the fine-tuning wrote its first checkpoint restarts the fine-tuning
        refined = Trainer(rcfg, refined_dir, resume=again, quiet=args.quiet,
                          overwrite=args.overwrite or (args.resume and not again))
        print_done(refined, refined.fit(), rcfg, refined_dir)
    return 0


def run_wscda(args) -> int:
    """``--method wscda`` / ``pplo`` (config section ``wscda``, see :mod:`wscda.config`)."""
    from wscda.config import load_wscda_experiment
    from wscda.pplo import PPLOTrainer
    from wscda.trainer import WSCDATrainer
    ccssl_only = ablation_overrides(args)
    if ccssl_only:
        raise ValueError(f"--no-equivariance/--no-temporal/--no-target/--invariance/--flip/--reference-shots/"
                         f"--finetune-epochs are CC-SSL options, not for --method {args.method}")
    if not args.resume:
        if args.method == "pplo" and args.source is None:
            raise ValueError("--method pplo needs --source CKPT (the WS-CDA model) unless --resume")
        if args.source is not None and not os.path.isfile(args.source):
            raise FileNotFoundError(f"--source: checkpoint not found: {args.source}")
    cfg, wcfg = load_wscda_experiment(args.config, list(args.overrides) + runtime_overrides(args))
    cls = PPLOTrainer if args.method == "pplo" else WSCDATrainer
    trainer = cls(cfg, wcfg, args.out, source_checkpoint=args.source, resume=args.resume, quiet=args.quiet,
                           overwrite=args.overwrite)
    result = trainer.fit()
    extra = f", labels in {args.out}/pplo_labels/" if args.method == "pplo" else ""
    print_done(trainer, result, trainer.cfg, args.out, extra)
    return 0
