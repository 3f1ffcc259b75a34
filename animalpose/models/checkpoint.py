"""Strict loading of official and kit checkpoints; atomic saving.

:func:`load_checkpoint` reads (with ``torch.load(..., weights_only=True)``):

* plain state_dicts (microsoft SimpleBaseline, HRNet, DEKR, torchvision ImageNet files),
* ``{'state_dict': ...}`` wrappers (bearpaw / CC-SSL ``model_best.pth.tar``:
  ``{'epoch', 'arch', 'state_dict', 'best_acc', 'optimizer'}``; mmpose; this kit's own files),
* ``{'model': ...}`` wrappers,

strips DataParallel's ``module.`` prefix and ignores ``num_batches_tracked`` buffers that are missing
or extra (older PyTorch versions did not save them).  Any other difference — a missing or
unexpected key, a shape mismatch — raises :class:`CheckpointMismatchError` naming the file and the
keys, and nothing is loaded.

:func:`save_checkpoint` writes ``{'state_dict': ..., **extra}`` atomically (temporary file in the
target directory, then ``os.replace``) with tensors and plain Python values only, so the file
reloads with ``weights_only=True``.
"""
from __future__ import annotations

import numbers
import os
import pickle
import warnings
from collections.abc import Mapping
from typing import Any, Dict, Iterable, List, Tuple, Union

import torch
import torch.nn as nn

from ..atomic import atomic_write

__all__ = ["CheckpointMismatchError", "CheckpointFormatError", "read_checkpoint", "load_checkpoint",
           "save_checkpoint"]

_NBT = "num_batches_tracked"
_SHOW = 6  # keys listed per category in error messages


class CheckpointMismatchError(ValueError):
    """The checkpoint's keys or shapes differ from the model's (beyond ``num_batches_tracked``)."""


class CheckpointFormatError(ValueError):
    """The file is not a readable checkpoint (unsafe pickle, no state_dict inside, non-tensor values)."""


def _name(src) -> str:
    return repr(os.fspath(src)) if isinstance(src, (str, os.PathLike)) else "<in-memory state_dict>"


def _is_nbt(key: str) -> bool:
    return key == _NBT or key.endswith("." + _NBT)


def _looks_like_torch_file(path: str) -> bool:
    """``torch.save`` writes a zip archive (PyTorch >= 1.6) or a pickle starting with PROTO (legacy)."""
    import zipfile
    if zipfile.is_zipfile(path):
        return True
    with open(path, "rb") as f:
        head = f.read(2)
    return len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5


def read_checkpoint(path_or_state, map_location="cpu", weights_only: bool = True
                    ) -> Tuple[Dict[str, torch.Tensor], Dict[str, Any]]:
    """``(state_dict, metadata)`` from a file or an in-memory object; ``module.`` prefixes stripped.

    ``metadata`` holds the wrapper's other entries (``epoch``, ``arch``, ``best_acc`` ...), minus
    optimizer state.  ``weights_only=False`` unpickles arbitrary objects: only for files you trust.
    """
    name = _name(path_or_state)
    if isinstance(path_or_state, (str, os.PathLike)):
        path = os.fspath(path_or_state)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"checkpoint not found: {path}")
        if not _looks_like_torch_file(path):
            raise CheckpointFormatError(f"checkpoint {name} is not a readable torch file "
                                        "(neither a zip archive nor a pickle)")
        try:
            obj = torch.load(path, map_location=map_location, weights_only=weights_only)
        except pickle.UnpicklingError as e:
            lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()] or [type(e).__name__]
            first = next((ln.split(" was not an allowed")[0] for ln in lines if "WeightsUnpickler" in ln), lines[0])
            if not weights_only or "weights only" not in str(e).lower():
                raise CheckpointFormatError(f"checkpoint {name} is not a readable torch file: {first}") from e
            raise CheckpointFormatError(
                f"checkpoint {name} cannot be read with weights_only=True ({first}); if you trust "
                f"the file, pass weights_only=False or re-save it with animalpose.models.save_checkpoint") from e
        except (RuntimeError, EOFError, OSError) as e:
            raise CheckpointFormatError(f"checkpoint {name} is not a readable torch file: {e}") from e
    else:
        obj = path_or_state
    if not isinstance(obj, Mapping):
        raise CheckpointFormatError(f"checkpoint {name} holds a {type(obj).__name__}, not a state_dict")
    meta: Dict[str, Any] = {}
    state = obj
    for wrapper in ("state_dict", "model"):
        inner = obj.get(wrapper)
        if isinstance(inner, Mapping) and not isinstance(inner, torch.Tensor):
            state = inner
            meta = {k: v for k, v in obj.items() if k != wrapper and k != "optimizer"}
            break
    bad = [k for k, v in state.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise CheckpointFormatError(f"checkpoint {name}: no state_dict found ({len(bad)} entries are not "
                                    f"tensors: {_short(bad)})")
    out = {}
    for k, v in state.items():
        k = str(k)
        out[k[len("module."):] if k.startswith("module.") else k] = v
    return out, meta


def _short(keys: List[str], n: int = _SHOW) -> str:
    keys = list(keys)
    s = ", ".join(keys[:n])
    return s + (f", ... (+{len(keys) - n} more)" if len(keys) > n else "")


def _shape(t) -> str:
    return "[" + ", ".join(str(d) for d in t.shape) + "]"


def load_checkpoint(model: nn.Module, path_or_state, strict: bool = True, map_location="cpu",
                    ignore_prefixes: Iterable[str] = (), weights_only: bool = True,
                    return_meta: bool = False, name: str = None):
    """Load a checkpoint (path, state_dict or wrapper dict) into ``model``; returns ``model``.

    ``strict=True``: every key and shape must match, except ``num_batches_tracked`` buffers (missing
    ones keep the model's value, extra ones are dropped); otherwise
    :class:`CheckpointMismatchError` is raised and the model is left untouched.  ``strict=False``
    loads the keys whose shapes match and warns about the rest.  Checkpoint keys starting with one
    of ``ignore_prefixes`` (e.g. ``'fc.'`` of an ImageNet classifier) are dropped first.
    ``return_meta=True`` returns ``(model, metadata)`` (the wrapper's ``epoch``, ``arch``, ...).
    ``name`` is the file an in-memory state was read from (named in the mismatch message).
    """
    if isinstance(model, (nn.DataParallel, nn.parallel.DistributedDataParallel)):
        model = model.module
    state, meta = read_checkpoint(path_or_state, map_location=map_location, weights_only=weights_only)
    prefixes = tuple(ignore_prefixes)
    if prefixes:
        state = {k: v for k, v in state.items() if not k.startswith(prefixes)}
    target = model.state_dict()
    mismatched = state_mismatch(model, state, repr(name) if name else _name(path_or_state), strict=strict,
                                target=target)
    bad = set(mismatched)
    load = {k: (state[k] if k in state and k not in bad else target[k]) for k in target}
    model.load_state_dict(load, strict=True)
    return (model, meta) if return_meta else model


def _plain(value, where: str):
    """``value`` made of tensors and plain Python types only (what ``weights_only=True`` reloads)."""
    try:
        import numpy as np
    except ImportError:  # pragma: no cover
        np = None
    if np is not None and isinstance(value, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(value))
    if np is not None and isinstance(value, np.generic):  # before float: np.float64 subclasses float
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return value
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, numbers.Number):
        return complex(value) if isinstance(value, complex) else float(value)
    if isinstance(value, Mapping):
        return {k: _plain(v, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v, f"{where}[{i}]") for i, v in enumerate(value))
    raise TypeError(f"save_checkpoint: {where} is a {type(value).__name__}; only tensors, numbers, strings, "
                    f"None and lists/tuples/dicts of them can be saved (so the file loads with weights_only=True)")


def save_checkpoint(path: Union[str, os.PathLike], model_or_state, **extra) -> str:
    """Atomically write ``{'state_dict': ..., **extra}`` to ``path``; returns the path.

    ``model_or_state``: a module (DataParallel unwrapped, so keys carry no ``module.``) or a
    state_dict.  ``extra`` values (epoch, arch, metrics, optimizer state ...) must be tensors or plain
    Python types; numpy arrays/scalars are converted.
    """
    if "state_dict" in extra:
        raise TypeError("save_checkpoint: 'state_dict' is reserved for the model weights")
    if isinstance(model_or_state, (nn.DataParallel, nn.parallel.DistributedDataParallel)):
        model_or_state = model_or_state.module
    state = model_or_state.state_dict() if isinstance(model_or_state, nn.Module) else model_or_state
    if not isinstance(state, Mapping):
        raise TypeError(f"save_checkpoint: expected a module or a state_dict, got {type(state).__name__}")
    weights = {}
    for k, v in state.items():
        if not isinstance(v, torch.Tensor):
            raise TypeError(f"save_checkpoint: state_dict entry {k!r} is a {type(v).__name__}, not a tensor")
        weights[str(k)] = v.detach().cpu().contiguous()   # standard NCHW layout, whatever the training format
    payload = {"state_dict": weights}
    payload.update({k: _plain(v, k) for k, v in extra.items()})
    return atomic_write(path, lambda f: torch.save(payload, f))


def state_mismatch(model: nn.Module, state: dict, name: str, strict: bool = True, target: dict = None) -> list:
    """Compare ``state``'s keys and shapes with ``model``'s (no values are copied, so ``model`` may
    live on the ``meta`` device); raises :class:`CheckpointMismatchError` naming ``name`` when
    ``strict``, else warns.  Returns the keys whose shapes differ."""
    target = model.state_dict() if target is None else target
    missing = [k for k in target if k not in state and not _is_nbt(k)]
    unexpected = [k for k in state if k not in target and not _is_nbt(k)]
    mismatched = [k for k in state if k in target and tuple(state[k].shape) != tuple(target[k].shape)]
    if missing or unexpected or mismatched:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing key(s): {_short(missing)}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected key(s): {_short(unexpected)}")
        if mismatched:
            items = [f"{k} checkpoint {_shape(state[k])} vs model {_shape(target[k])}" for k in mismatched]
            parts.append(f"{len(mismatched)} shape mismatch(es): {_short(items, 4)}")
        msg = (f"checkpoint {name} does not match {type(model).__name__} "
               f"({len(state)} vs {len(target)} entries): " + "; ".join(parts))
        if strict:
            raise CheckpointMismatchError(msg)
        warnings.warn(msg + " — loading the matching entries only", stacklevel=3)
    return mismatched
