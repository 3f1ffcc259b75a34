"""``animalpose pretrain``: supervised training of a registered model on a source dataset."""
from __future__ import annotations


from ..engine.config import list_configs, load_experiment
from ._common import add_run_folder_options, add_runtime_options, check_run_folder_options, print_done, runtime_overrides


def register(sub, formatter):
    p = sub.add_parser(
        "pretrain", formatter_class=formatter, help="supervised training on a source dataset",
        description="Train a registered model (`animalpose.models.list_models()`) on synthetic animals, TigDog, "
                    "Animal-Pose or COCO as described by an experiment config; configs whose codec is dekr train the bottom-up "
                    "DEKR pipeline on whole COCO images. Writes OUT/config.yaml (the resolved "
                    "config), OUT/last.pt every epoch, OUT/best.pt (best validation metric), OUT/history.json and "
                    "TensorBoard logs in OUT/tb. Packaged configs: " + ", ".join(list_configs()) + ".")
    p.add_argument("--config", required=True, help="packaged config name or path to a YAML file")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set optim.lr=1e-3 --set train_data.root=data "
                        "(repeatable; values are YAML)")
    add_run_folder_options(p)
    p.add_argument("--no-pretrained", action="store_true",
                   help="train from scratch although the config names an ImageNet backbone "
                        "(model.options.pretrained_backbone, which must otherwise exist)")
    add_runtime_options(p, "runs/pretrain")
    return p


def run(args) -> int:
    from ..engine.runner import make_trainer
    check_run_folder_options(args)
    extra = ["model.options.pretrained_backbone=null"] if args.no_pretrained else []
    cfg = load_experiment(args.config, list(args.overrides) + extra + runtime_overrides(args))
    trainer = make_trainer(cfg, args.out, resume=args.resume, quiet=args.quiet, overwrite=args.overwrite)
    result = trainer.fit()
    print_done(trainer, result, cfg, args.out)
    return 0
