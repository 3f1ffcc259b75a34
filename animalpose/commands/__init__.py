"""Subcommands of the ``animalpose`` command, in the order ``--help`` lists them."""
from . import adapt, demo, evaluate, generate, labels, predict, pretrain, specs, summary

COMMANDS = (demo, generate, pretrain, adapt, labels, evaluate, predict, summary, specs)
