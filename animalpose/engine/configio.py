"""Typed dataclass configs <-> YAML, with ``key=value`` overrides.

:func:`from_dict` builds a dataclass tree from a plain mapping and rejects
unknown keys and wrongly typed values with a message naming the dotted key
(and the file it came from); :func:`apply_overrides` parses ``a.b=value``
strings with YAML scalars (``lr=1e-3``, ``milestones=[60,90]``).
"""
from __future__ import annotations

import dataclasses
import typing
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import yaml


class ConfigError(ValueError):
    """A config file or override that does not fit the schema."""


def _type_name(tp) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(value: Any, tp, where: str):
    """Check/convert ``value`` against the annotation ``tp``."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin is Union:
        if value is None and type(None) in args:
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _coerce(value, a, where)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(errors[0] if len(errors) == 1 else f"{where}: {value!r} does not fit {_type_name(tp)}")
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a mapping for {tp.__name__}, got {value!r}")
        return from_dict(tp, value, where)
    if origin in (list, List, Sequence, tuple, Tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        if origin in (tuple, Tuple) and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise ConfigError(f"{where}: expected {len(args)} values, got {len(value)}")
            return tuple(_coerce(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
        inner = args[0] if args else Any
        out = [_coerce(v, inner, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(out) if origin in (tuple, Tuple) else out
    if origin in (dict, Dict, Mapping):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        vt = args[1] if len(args) == 2 else Any
        return {str(k): _coerce(v, vt, f"{where}.{k}") for k, v in value.items()}
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: expected true/false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: expected an integer, got {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    if tp is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{where}: expected a string, got {value!r}")
    return value


def from_dict(cls, data: Mapping, where: str = ""):
    """Build dataclass ``cls`` from ``data``; unknown keys and bad types raise :class:`ConfigError`."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - names)
    if unknown:
        key = f"{where}.{unknown[0]}" if where else unknown[0]
        raise ConfigError(f"unknown key {key!r} (allowed: {', '.join(sorted(names))})")
    kwargs = {k: _coerce(v, hints[k], f"{where}.{k}" if where else k) for k, v in data.items()}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{where or cls.__name__}: {e}") from None


def to_dict(obj) -> Dict[str, Any]:
    """Plain nested dict (tuples become lists) ready for YAML/JSON."""
    def conv(v):
        if dataclasses.is_dataclass(v):
            return {f.name: conv(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, (list, tuple)):
            return [conv(x) for x in v]
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        return v
    return conv(obj)


def parse_override(text: str) -> Tuple[List[str], Any]:
    """``"optim.lr=1e-3"`` -> (``["optim", "lr"]``, ``0.001``); the value is read as YAML."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} must look like key=value (e.g. optim.lr=1e-3)")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key:
        raise ConfigError(f"override {text!r} has an empty key")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    if isinstance(value, str):
        # YAML 1.1 reads "1e-3" as a string; accept plain floats written that way
        try:
            value = float(value) if any(c in value for c in ".eE") and value.strip() not in ("", ".") else value
        except ValueError:
            pass
    return key.split("."), value


def apply_overrides(data: Dict[str, Any], overrides: Sequence[str]) -> Dict[str, Any]:
    """Set dotted keys in a nested dict (creating mappings as needed); returns ``data``."""
    for text in overrides or ():
        path, value = parse_override(text)
        node = data
        for p in path[:-1]:
            if not isinstance(node.get(p), dict):
                node[p] = {} if p not in node or node[p] is None else node[p]
                if not isinstance(node[p], dict):
                    raise ConfigError(f"override {text!r}: {p!r} is not a section")
            node = node[p]
        node[path[-1]] = value
    return data


def read_yaml(path: str) -> Dict[str, Any]:
    """A YAML mapping from ``path`` (one-line errors naming the file)."""
    try:
        with open(path) as f:
            data = yaml.safe_load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}:{line} not valid YAML ({getattr(e, 'problem', e)})") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping, got {type(data).__name__}")
    return data


def load(cls, path: Optional[str] = None, overrides: Sequence[str] = (), base: Optional[Mapping] = None):
    """``cls`` from YAML ``path`` (or ``base``) plus overrides; errors name the file."""
    data = dict(base or {})
    if path is not None:
        data.update(read_yaml(path))
        try:
            from_dict(cls, data)
        except ConfigError as e:
            raise ConfigError(f"{path}: {e}") from None
    if not overrides:
        return from_dict(cls, data)
    data = apply_overrides(data, overrides)
    try:
        return from_dict(cls, data)
    except ConfigError as e:
        raise ConfigError(f"--set: {e}") from None


def dump(obj, path: str) -> None:
    """Write a config dataclass as YAML (atomically, through a uniquely named temporary file)."""
    from .run_folder import atomic_write_text
    atomic_write_text(path, yaml.safe_dump(to_dict(obj), sort_keys=False))
