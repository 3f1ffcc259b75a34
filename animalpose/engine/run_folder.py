"""One run per folder: claiming ``--out``, its lock, atomic text files, crash leftovers.

:func:`claim` refuses a folder that holds another run's files unless the run resumes it or
``overwrite`` clears them first; it takes ``OUT/.lock`` (created exclusively, holding the pid) so
two processes cannot write one folder, removes the temporary files an interrupted atomic write left
behind, and returns the lock to :func:`release`.  A lock whose pid no longer runs is stale and taken
over.  :func:`atomic_write_text` writes through a uniquely named temporary file and ``os.replace``.
"""
from __future__ import annotations

import glob
import os
import shutil
from typing import Optional

from ..atomic import atomic_write

#: files and folders a training run writes (what --overwrite removes; their presence means "a run")
RUN_FILES = ("config.yaml", "last.pt", "best.pt", "best_on_test.pt", "history.json", "selection.json",
             "losses.json")
RUN_DIRS = ("tb", "ssl_labels", "refined", "pplo_labels")
LOCK = ".lock"


class RunFolderError(RuntimeError):
    """The run folder cannot be used (another run's files, or another process writing)."""


def atomic_write_text(path: str, text: str) -> str:
    """Write ``text`` to ``path`` atomically (:func:`animalpose.atomic.atomic_write`)."""
    return atomic_write(path, lambda f: f.write(text), binary=False)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_files(out_dir: str):
    """The run files present in ``out_dir`` (names)."""
    return [n for n in RUN_FILES + RUN_DIRS if os.path.exists(os.path.join(out_dir, n))]


def claim(out_dir: str, resume: bool = False, overwrite: bool = False) -> str:
    """Take ``out_dir`` for one run; returns the lock path (see the module docstring)."""
    if resume and overwrite:
        raise ValueError("--resume and --overwrite exclude each other")
    os.makedirs(out_dir, exist_ok=True)
    lock = os.path.join(out_dir, LOCK)
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                pid = int(open(lock).read().strip() or 0)
            except (OSError, ValueError):
                pid = 0
            if pid and pid != os.getpid() and _pid_alive(pid):
                raise RunFolderError(f"{out_dir}: another run (pid {pid}) is writing to this folder") from None
            os.unlink(lock)                       # stale: its process is gone
            continue
        with os.fdopen(fd, "w") as f:
            f.write(str(os.getpid()))
        break
    try:
        present = run_files(out_dir)
        if present and not resume:
            if not overwrite:
                raise RunFolderError(f"{out_dir}: holds another run ({', '.join(present)}); pass --resume to continue "
                                     "it, --overwrite to replace it, or choose another --out")
            for n in present:
                p = os.path.join(out_dir, n)
                shutil.rmtree(p) if os.path.isdir(p) else os.unlink(p)
        for tmp in glob.glob(os.path.join(out_dir, ".*.tmp")):   # left by an interrupted atomic write
            os.unlink(tmp)
    except BaseException:
        release(lock)
        raise
    return lock


def release(lock: Optional[str]) -> None:
    """Drop a lock taken by :func:`claim` (only if this process holds it)."""
    if not lock:
        return
    try:
        if int(open(lock).read().strip() or 0) == os.getpid():
            os.unlink(lock)
    except (OSError, ValueError):
        pass
