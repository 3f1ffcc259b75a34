"""Subcommands of the ``animalpose`` command, in the order ``--help`` lists them."""
from . import demo, evaluate, generate, predict, pretrain, specs, summary

COMMANDS = (demo, generate, pretrain, evaluate, predict, summary, specs)
