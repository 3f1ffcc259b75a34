"""The spec registry: built-in specs by name, user specs from YAML files and from COCO files.

* :func:`get_spec` - a registered name (``"ap10k17"``), a path to a spec file
  (``"specs/zebra.yaml"``, loaded and registered under its ``name``), or a
  :class:`~.spec.KeypointSpec` (passed through);
* :func:`register_spec` - add a spec; a name is never silently reused for a
  different definition;
* :func:`load_spec_file` - a YAML / JSON spec file in the by-name form of
  :func:`~.spec.spec_from_dict`;
* :func:`spec_from_coco` - the spec a COCO file's category defines
  (``keypoints`` names, ``skeleton`` 1-based as in COCO, or 0-based when an
  index 0 occurs), flip partners inferred from the names unless given.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from typing import Dict, Optional, Sequence, Tuple, Union

from .builtin import BUILTIN_SPECS
from .spec import KeypointSpec, spec_from_dict

__all__ = ["get_spec", "list_specs", "register_spec", "load_spec_file", "spec_from_coco", "is_spec_path",
           "BUILTIN_NAMES"]

_SPECS: Dict[str, KeypointSpec] = {s.name: s for s in BUILTIN_SPECS}
BUILTIN_NAMES: Tuple[str, ...] = tuple(s.name for s in BUILTIN_SPECS)
_SPEC_SUFFIXES = (".yaml", ".yml", ".json")


def list_specs() -> Tuple[str, ...]:
    """Names of every registered spec (built-in first, then the ones loaded in this process)."""
    builtin = [n for n in BUILTIN_NAMES if n in _SPECS]
    return tuple(sorted(builtin)) + tuple(sorted(n for n in _SPECS if n not in BUILTIN_NAMES))


def register_spec(spec: KeypointSpec) -> KeypointSpec:
    """Register ``spec`` under its name and return the registered spec.

    Registering the same definition again is a no-op; a different definition
    under a taken name is a ``ValueError``."""
    old = _SPECS.get(spec.name)
    if old is not None:
        if old.same_definition(spec):
            return old
        raise ValueError(f"keypoint spec name {spec.name!r} is already used by a different definition "
                         f"({old.source or 'registered earlier'}); give the new spec another name")
    _SPECS[spec.name] = spec
    return spec


def is_spec_path(name: str) -> bool:
    """Whether a ``spec:`` value names a file rather than a registered spec."""
    return name.endswith(_SPEC_SUFFIXES) or os.sep in name or (os.altsep is not None and os.altsep in name)


def load_spec_file(path: str) -> KeypointSpec:
    """Read a spec file (YAML or JSON, by-name form) and register it; errors name the file."""
    import yaml

    path = str(path)
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f) if path.endswith(".json") else yaml.safe_load(f)
    except FileNotFoundError:
        raise ValueError(f"{path}: keypoint spec file not found") from None
    except (yaml.YAMLError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: not a readable spec file ({type(e).__name__})") from None
    if isinstance(data, dict) and "name" not in data:
        data = {"name": os.path.splitext(os.path.basename(path))[0], **data}
    spec = spec_from_dict(data, where=path)
    if not spec.source:
        spec = KeypointSpec(**{**_fields(spec), "source": f"spec file {path}"})
    try:
        return register_spec(spec)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None


def _fields(spec: KeypointSpec) -> dict:
    from dataclasses import fields
    return {f.name: getattr(spec, f.name) for f in fields(spec)}


def get_spec(name: Union[str, KeypointSpec]) -> KeypointSpec:
    """Look a spec up by name or load it from a file path (a spec passes through unchanged)."""
    if isinstance(name, KeypointSpec):
        return name
    if not isinstance(name, str):
        raise KeyError(f"a keypoint spec is a name or a file path, got {name!r}")
    try:
        return _SPECS[name]
    except KeyError:
        pass
    if is_spec_path(name):
        return load_spec_file(name)
    raise KeyError(f"unknown keypoint spec {name!r}; known: {', '.join(list_specs())} "
                   "(or give the path of a spec .yaml file)")


def _slug(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", str(text).lower()).strip("_") or "coco"


def spec_from_coco(keypoints: Sequence[str], skeleton=None, category: str = "",
                   flip_pairs: Optional[Sequence[Sequence[str]]] = None, where: str = "COCO file") -> KeypointSpec:
    """The spec of a COCO category: joints = its ``keypoints`` names (as written),
    skeleton from its ``skeleton`` (1-based as in COCO; 0-based when an index 0
    occurs), flip partners from ``flip_pairs`` (pairs of names) or inferred from
    the names.  Named ``<category><K>_<hash>`` (the hash of the definition, so the
    train and val files of one dataset give the same spec), and registered."""
    names = list(keypoints)
    if not names or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"{where}: categories[].keypoints must be a non-empty list of joint names")
    k = len(names)
    edges = []
    if skeleton:
        try:
            idx = [(int(a), int(b)) for a, b in skeleton]
        except (TypeError, ValueError):
            raise ValueError(f"{where}: categories[].skeleton must be a list of [i, j] index pairs") from None
        base = 0 if any(0 in e for e in idx) else 1
        for a, b in idx:
            if not (0 <= a - base < k and 0 <= b - base < k):
                raise ValueError(f"{where}: skeleton edge [{a}, {b}] is out of range for {k} keypoints")
            edges.append([names[a - base], names[b - base]])
    data = {"name": "pending", "joints": names, "skeleton": edges, "source": where}
    if flip_pairs is not None:
        data["flip_pairs"] = [list(p) for p in flip_pairs]
    spec = spec_from_dict(data, where=where)
    digest = hashlib.sha1(json.dumps({**spec.to_dict(), "name": "", "source": ""},
                                     sort_keys=True).encode()).hexdigest()[:6]
    spec = KeypointSpec(**{**_fields(spec), "name": f"{_slug(category)}{k}_{digest}"})
    return register_spec(spec)


def builtin_spec_for(names: Sequence[str]) -> Optional[KeypointSpec]:
    """The built-in spec whose joints the ``names`` match one to one by name
    (:func:`~.names.match_joints`: same joints, any order), else ``None``."""
    from .names import JointNameError, match_joints
    for n in BUILTIN_NAMES:
        spec = _SPECS[n]
        if spec.num_joints != len(names):
            continue
        try:
            match_joints(names, spec, where="names")
        except JointNameError:
            continue
        return spec
    return None
