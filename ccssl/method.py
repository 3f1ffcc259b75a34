"""``adapt --method ccssl``: CC-SSL (and CC-SSL-R) in the method registry."""
from __future__ import annotations

import os

from animalpose.engine.methods import AdaptMethod, register_method

#: consistency (or the target loss) switched off -> config override (the --no-* flags,
#: `animalpose demo --ablation`)
ABLATION_OVERRIDES = {"no_equivariance": "ccssl.equivariance=false", "no_temporal": "ccssl.temporal=false",
                      "no_target": "ccssl.gamma=0"}


@register_method
class CCSSLMethod(AdaptMethod):
    name = "ccssl"
    help = "consistency-constrained pseudo-labelling (Mu et al. 2020), optionally followed by CC-SSL-R"
    source = "required"
    flags = ("no_equivariance", "no_temporal", "no_target", "invariance", "flip", "reference_shots",
             "finetune_epochs")

    def missing_source(self) -> str:
        return "--source CKPT is required (the source-pretrained checkpoint) unless --resume"

    def add_arguments(self, p) -> None:
        p.add_argument("--no-equivariance", action="store_true", help="ccssl ablation: identity view only")
        p.add_argument("--no-temporal", action="store_true", help="ccssl ablation: no optical-flow propagation")
        p.add_argument("--no-target", action="store_true",
                       help="ccssl control: gamma = 0, so the pseudo-labelled target batches still pass through "
                            "the network (BatchNorm statistics) but add no loss; the same steps of source training")
        p.add_argument("--invariance", type=int, default=None, help="ccssl: photometric views added to the average")
        p.add_argument("--flip", action="store_true", help="ccssl: add mirrored views to the pseudo-label average")
        p.add_argument("--reference-shots", action="store_true",
                       help="ccssl: propagate from the previous sample even across shot boundaries (the reference)")
        p.add_argument("--finetune-epochs", type=int, default=None, metavar="N",
                       help="CC-SSL-R: afterwards fine-tune the adapted model for N epochs with the target's real "
                            "labels (ccssl.target_data) into OUT/refined (sets ccssl.finetune_epochs)")

    def overrides(self, args):
        out = [o for name, o in ABLATION_OVERRIDES.items() if getattr(args, name, False)]
        if getattr(args, "invariance", None) is not None:
            if args.invariance < 0:
                raise ValueError(f"--invariance must be >= 0, got {args.invariance}")
            out.append(f"ccssl.invariance={args.invariance}")
        if getattr(args, "flip", False):
            out.append("ccssl.flip=true")
        if getattr(args, "reference_shots", False):
            out.append("ccssl.respect_shots=false")
        if getattr(args, "finetune_epochs", None) is not None:
            if args.finetune_epochs < 0:
                raise ValueError(f"--finetune-epochs must be >= 0, got {args.finetune_epochs}")
            out.append(f"ccssl.finetune_epochs={args.finetune_epochs}")
        return out

    def make_trainer(self, cfg, args):
        from .trainer import CCSSLTrainer
        return CCSSLTrainer(cfg, args.out, source_checkpoint=args.source, resume=args.resume, quiet=args.quiet,
                            overwrite=args.overwrite)

    def closing(self, args) -> str:
        return f", labels in {args.out}/ssl_labels/"

    def after_fit(self, trainer, result, args, done) -> None:
        cfg = trainer.cfg
        if cfg.ccssl is not None and cfg.ccssl.finetune_epochs > 0:
            from animalpose.engine.trainer import Trainer
            from .refine import finetune_config
            refined_dir = os.path.join(args.out, "refined")
            rcfg = finetune_config(cfg, trainer.last_path)
            print(f"CC-SSL-R: fine-tuning with the target labels for {rcfg.train.epochs} epochs -> {refined_dir}")
            again = args.resume and os.path.isfile(os.path.join(refined_dir, "last.pt"))
            # resuming before the fine-tuning wrote its first checkpoint restarts the fine-tuning
            refined = Trainer(rcfg, refined_dir, resume=again, quiet=args.quiet,
                              overwrite=args.overwrite or (args.resume and not again))
            done(refined, refined.fit(), rcfg, refined_dir)
