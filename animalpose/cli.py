"""The ``animalpose`` command: one entry point, one module per subcommand
(``animalpose/commands/<name>.py`` with ``register(subparsers)`` and ``run(args)``)."""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from . import __version__
from .commands import COMMANDS


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    pass


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="animalpose", formatter_class=_Formatter,
        description="Animal pose estimation under domain shift: built-in data in the real dataset formats, "
                    "loaders, keypoint specs, training, evaluation (CC-SSL PCK, COCO AP) and prediction.",
        epilog="Run `animalpose COMMAND --help` for the options of a command.")
    parser.add_argument("--version", action="version", version=f"animalpose {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for mod in COMMANDS:
        p = mod.register(sub, _Formatter)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print(f"animalpose {args.command}: interrupted", file=sys.stderr)
        return 130
    except (ValueError, KeyError, OSError, RuntimeError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        print(f"animalpose {args.command}: error: {one_line(msg)}", file=sys.stderr)
        return 1


def one_line(msg: str) -> str:
    """The message of an error as one line.  An error raised in a DataLoader worker arrives as
    ``Caught X in DataLoader worker process N. Original Traceback ... module.X: message``: its
    last line, without the exception's qualified name, is the original message."""
    msg = str(msg).strip()
    if "Original Traceback" in msg:
        last = msg.splitlines()[-1].strip()
        head, sep, rest = last.partition(": ")
        msg = rest if sep and " " not in head else last
    return " ".join(part.strip() for part in msg.splitlines() if part.strip())


if __name__ == "__main__":
    sys.exit(main())
