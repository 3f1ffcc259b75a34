"""Subcommands of the ``animalpose`` command, in the order ``--help`` lists them."""
from . import adapt, demo, evaluate, generate, labels, predict, pretrain, rescore, specs, summary

COMMANDS = (demo, generate, pretrain, adapt, labels, evaluate, rescore, predict, summary, specs)
