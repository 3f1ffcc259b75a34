"""Atomic file writes: a uniquely named temporary file in the target's folder, fsync, ``os.replace``.

A crash mid-write leaves the previous file intact and a ``.NAME.*.tmp`` leftover (which
:func:`animalpose.engine.run_folder.claim` removes); two writers never share a temporary name.
"""
from __future__ import annotations

import os
import tempfile
from typing import IO, Callable


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path, write: Callable[[IO], None], binary: bool = True) -> str:
    """Call ``write(f)`` on a temporary file beside ``path``, then move it onto ``path``; returns the path."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the file the usual mode
        with os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"})) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def save_npz(path, **arrays) -> str:
    """Write ``arrays`` to ``path`` as a compressed ``.npz``, atomically (CC-SSL and PPLO label rounds)."""
    import numpy as np
    return atomic_write(path, lambda f: np.savez_compressed(f, **arrays))


def load_npz(path, keys, kind: str) -> dict:
    """The arrays ``keys`` of the ``.npz`` at ``path``; ``ValueError`` ``"<path>: not a <kind> file (...)"``
    when it cannot be read or lacks one of them."""
    import numpy as np
    try:
        with np.load(path) as z:
            return {k: z[k] for k in keys}
    except (OSError, KeyError, ValueError) as e:
        raise ValueError(f"{path}: not a {kind} file ({e})") from None
