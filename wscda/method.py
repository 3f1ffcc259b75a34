"""``adapt --method wscda`` and ``--method pplo`` in the method registry."""
from __future__ import annotations

from animalpose.engine.methods import AdaptMethod, register_method


@register_method
class WSCDAMethod(AdaptMethod):
    name = "wscda"
    help = "weakly- and semi-supervised cross-domain adaptation with a domain discriminator (Cao et al. 2019)"
    source = "optional"

    def load_config(self, config, overrides):
        from .config import load_wscda_experiment
        cfg, self.wcfg = load_wscda_experiment(config, overrides)
        return cfg

    def make_trainer(self, cfg, args):
        from .trainer import WSCDATrainer
        return WSCDATrainer(cfg, self.wcfg, args.out, source_checkpoint=args.source, resume=args.resume,
                            quiet=args.quiet, overwrite=args.overwrite)


@register_method
class PPLOMethod(WSCDAMethod):
    name = "pplo"
    help = "WS-CDA with progressive pseudo-label rounds on the target (PPLO)"
    source = "required"

    def missing_source(self) -> str:
        return "--method pplo needs --source CKPT (the WS-CDA model) unless --resume"

    def make_trainer(self, cfg, args):
        from .pplo import PPLOTrainer
        return PPLOTrainer(cfg, self.wcfg, args.out, source_checkpoint=args.source, resume=args.resume,
                           quiet=args.quiet, overwrite=args.overwrite)

    def closing(self, args) -> str:
        return f", labels in {args.out}/pplo_labels/"
