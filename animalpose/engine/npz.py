"""Label files as ``.npz``: atomic compressed writes and checked reads (CC-SSL and PPLO rounds)."""
from __future__ import annotations

import os
from typing import Dict, Sequence

import numpy as np

__all__ = ["save_npz", "load_npz"]


def save_npz(path: str, **arrays) -> str:
    """Write ``arrays`` to ``path`` compressed, through a temporary file and ``os.replace``."""
    tmp = path + ".tmp.npz"
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, path)
    return path


def load_npz(path: str, keys: Sequence[str], kind: str) -> Dict[str, np.ndarray]:
    """The arrays ``keys`` of ``path``; ``ValueError`` ``"<path>: not a <kind> file (...)"`` when it
    cannot be read or lacks one of them."""
    try:
        with np.load(path) as z:
            return {k: z[k] for k in keys}
    except (OSError, KeyError, ValueError) as e:
        raise ValueError(f"{path}: not a {kind} file ({e})") from None
