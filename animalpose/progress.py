"""Progress bars (``progress`` package) that fall silent in quiet mode; the engine, the methods and the commands use them."""
from __future__ import annotations

import sys


class Steps:
    """A bar over ``total`` steps with ETA; ``next(msg)`` advances it."""

    def __init__(self, label: str, total: int, quiet: bool = False):
        self.quiet = quiet
        self.bar = None
        if not quiet:
            from progress.bar import Bar
            self.bar = Bar(label, max=total, suffix="%(index)d/%(max)d  elapsed %(elapsed)ds  eta %(eta)ds",
                           file=sys.stderr)

    def next(self, message: str = "") -> None:
        if self.bar is not None:
            self.bar.next()
            if message:
                self.bar.message = message[:40].ljust(40)

    def advance(self, n: int) -> None:
        """Advance ``n`` steps (e.g. one batch of ``n`` items)."""
        for _ in range(n):
            self.next()

    def finish(self) -> None:
        if self.bar is not None:
            self.bar.finish()
