"""Subcommands of the ``animalpose`` command, in the order ``--help`` lists them."""
from . import demo, generate, specs, summary

COMMANDS = (demo, generate, summary, specs)
