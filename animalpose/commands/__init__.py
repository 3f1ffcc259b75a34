"""Subcommands of the ``animalpose`` command, in the order ``--help`` lists them."""
from . import adapt, demo, evaluate, generate, predict, pretrain, specs, summary

COMMANDS = (demo, generate, pretrain, adapt, evaluate, predict, summary, specs)
