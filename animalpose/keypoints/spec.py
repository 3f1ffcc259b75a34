"""The keypoint specification: joint names, flip partners, skeleton, report groups, OKS sigmas.

A :class:`KeypointSpec` is plain data.  The built-in specs live in
:mod:`.builtin`; users define their own in a YAML file (:func:`spec_from_dict`
reads the by-name form documented there) or take one from a COCO file's
``categories[].keypoints`` (:func:`animalpose.keypoints.registry.spec_from_coco`).

Conventions: keypoint arrays are ``(..., K, 3)`` with columns ``x, y, v``
(``v`` is the dataset's own visibility flag, 0 = not labelled).  Indices are
0-based everywhere.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

import numpy as np

__all__ = ["KeypointSpec", "spec_from_dict"]


@dataclass(frozen=True)
class KeypointSpec:
    """Joint order and metadata of one keypoint convention.

    Attributes:
        name: registry name, e.g. ``"tigdog18"``.
        joints: joint names in dataset order (length K).
        flip_pairs: ``(left, right)`` index pairs swapped by a horizontal flip.
        skeleton: ``(i, j)`` index pairs drawn as limbs.
        groups: report groups, group name -> joint indices (paper tables).
        sigmas: per-joint OKS sigmas (COCO convention) or ``None``.
        remaps: named index permutations applied to raw annotations, e.g. the
            TigDog tiger remap: ``canonical = raw[remaps["tiger"]]``.
        upper_body: joints of the "upper" half used by half-body augmentation
            (the rest form the lower half); empty disables it for the spec.
        aliases: joint name -> other names a file may use for it (matched by
            name, see :func:`animalpose.keypoints.names.match_joints`), e.g. the
            official Animal-Pose ``left_ear`` for ``l_earbase``.
        source: where the order comes from.
    """

    name: str
    joints: Tuple[str, ...]
    flip_pairs: Tuple[Tuple[int, int], ...]
    skeleton: Tuple[Tuple[int, int], ...]
    groups: Mapping[str, Tuple[int, ...]] = field(default_factory=dict)
    sigmas: Optional[Tuple[float, ...]] = None
    remaps: Mapping[str, Tuple[int, ...]] = field(default_factory=dict)
    upper_body: Tuple[int, ...] = ()
    aliases: Mapping[str, Tuple[str, ...]] = field(default_factory=dict)
    source: str = ""

    def __post_init__(self):
        k = len(self.joints)
        if not self.name or not isinstance(self.name, str):
            raise ValueError("a keypoint spec needs a name")
        if k == 0:
            raise ValueError(f"spec {self.name}: no joints")
        if any(not isinstance(j, str) or not j.strip() for j in self.joints):
            raise ValueError(f"spec {self.name}: joint names must be non-empty strings")
        if len(set(self.joints)) != k:
            dup = next(j for j in self.joints if self.joints.count(j) > 1)
            raise ValueError(f"spec {self.name}: duplicate joint name {dup!r}")
        seen = set()
        for a, b in self.flip_pairs:
            if not (0 <= a < k and 0 <= b < k) or a == b or a in seen or b in seen:
                raise ValueError(f"spec {self.name}: bad flip pair ({a}, {b})")
            seen.update((a, b))
        for a, b in self.skeleton:
            if not (0 <= a < k and 0 <= b < k):
                raise ValueError(f"spec {self.name}: bad skeleton edge ({a}, {b})")
        for g, idx in self.groups.items():
            if any(not 0 <= i < k for i in idx):
                raise ValueError(f"spec {self.name}: group {g} has an index out of range")
        if self.sigmas is not None:
            if len(self.sigmas) != k:
                raise ValueError(f"spec {self.name}: {len(self.sigmas)} sigmas for {k} joints")
            if not all(np.isfinite(s) and s > 0 for s in self.sigmas):
                raise ValueError(f"spec {self.name}: OKS sigmas must be finite and > 0")
        if any(not 0 <= i < k for i in self.upper_body):
            raise ValueError(f"spec {self.name}: upper_body has an index out of range")
        for r, perm in self.remaps.items():
            if sorted(perm) != list(range(k)):
                raise ValueError(f"spec {self.name}: remap {r} is not a permutation")
        for j in self.aliases:
            if j not in self.joints:
                raise ValueError(f"spec {self.name}: alias for unknown joint {j!r}")

    @property
    def num_joints(self) -> int:
        return len(self.joints)

    def index(self, joint: str) -> int:
        try:
            return self.joints.index(joint)
        except ValueError:
            raise KeyError(f"spec {self.name} has no joint {joint!r}; joints: {', '.join(self.joints)}") from None

    @property
    def flip_index(self) -> np.ndarray:
        """Permutation ``p`` with ``flipped[..., k, :] = original[..., p[k], :]``."""
        perm = np.arange(self.num_joints)
        for a, b in self.flip_pairs:
            perm[a], perm[b] = b, a
        return perm

    @property
    def sigmas_array(self) -> np.ndarray:
        if self.sigmas is None:
            raise ValueError(f"spec {self.name} defines no OKS sigmas (OKS / COCO AP needs them: give `sigmas` in "
                             "a spec file, or evaluate with --protocol pck-bbox)")
        return np.asarray(self.sigmas, dtype=np.float64)

    def flip_keypoints(self, keypoints: np.ndarray, width: float, offset: float = 1.0) -> np.ndarray:
        """Mirror ``(..., K, 3)`` keypoints in an image of ``width`` pixels.

        ``x' = width - x - offset`` with ``offset = 1`` the pixel-centre
        convention of the reference code (bearpaw's ``shufflelr`` uses 0), and
        left/right joints swap.  Unlabelled joints (v == 0) keep x.
        """
        kp = np.array(keypoints, dtype=np.float32, copy=True)
        labelled = kp[..., 2] > 0
        kp[..., 0] = np.where(labelled, width - kp[..., 0] - offset, kp[..., 0])
        return kp[..., self.flip_index, :]

    def remap(self, keypoints: np.ndarray, which: str) -> np.ndarray:
        if which not in self.remaps:
            raise KeyError(f"spec {self.name} has no remap {which!r}; remaps: {', '.join(self.remaps) or 'none'}")
        return np.asarray(keypoints)[..., list(self.remaps[which]), :]

    # ------------------------------------------------------------------ data form
    def to_dict(self) -> Dict[str, Any]:
        """The by-name form (what a spec YAML file holds; :func:`spec_from_dict` reads it back)."""
        j = self.joints
        return {
            "name": self.name,
            "joints": list(j),
            "flip_pairs": [[j[a], j[b]] for a, b in self.flip_pairs],
            "skeleton": [[j[a], j[b]] for a, b in self.skeleton],
            "groups": {g: [j[i] for i in idx] for g, idx in self.groups.items()},
            "sigmas": None if self.sigmas is None else [float(s) for s in self.sigmas],
            "remaps": {r: [int(i) for i in p] for r, p in self.remaps.items()},
            "upper_body": [j[i] for i in self.upper_body],
            "aliases": {k: list(v) for k, v in self.aliases.items()},
            "source": self.source,
        }

    def same_definition(self, other: "KeypointSpec") -> bool:
        """Whether two specs define the same joints, pairs, skeleton, groups, sigmas and aliases under the same
        name (``source``, a description, is not compared)."""
        a, b = self.to_dict(), other.to_dict()
        a.pop("source"), b.pop("source")
        return a == b


_FIELDS = ("name", "joints", "flip_pairs", "skeleton", "groups", "sigmas", "remaps", "upper_body", "aliases",
           "source")


def _names(value, what: str, joints: Sequence[str], where: str) -> Tuple[int, ...]:
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{where}: {what} must be a list of joint names, got {value!r}")
    out = []
    for v in value:
        if not isinstance(v, str) or v not in joints:
            raise ValueError(f"{where}: {what} names {v!r}, which is not one of the spec's joints")
        out.append(joints.index(v))
    return tuple(out)


def _pairs(value, what: str, joints: Sequence[str], where: str) -> Tuple[Tuple[int, int], ...]:
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{where}: {what} must be a list of [joint, joint] pairs, got {value!r}")
    out = []
    for p in value:
        if not isinstance(p, (list, tuple)) or len(p) != 2:
            raise ValueError(f"{where}: every {what} entry must be two joint names, got {p!r}")
        a, b = _names(p, what, joints, where)
        out.append((a, b))
    return tuple(out)


def spec_from_dict(data: Mapping[str, Any], where: str = "spec", infer_flip: bool = True) -> KeypointSpec:
    """A spec from its by-name form.

    Keys: ``name`` and ``joints`` (required); ``flip_pairs`` (``[[left, right], ...]``
    by name; absent: inferred from left/right name patterns with
    :func:`animalpose.keypoints.names.infer_flip_pairs`; ``[]``: none);
    ``skeleton`` (pairs of names); ``groups`` (group -> names); ``sigmas`` (a list
    in joint order or a mapping name -> sigma); ``upper_body`` (names);
    ``aliases`` (name -> other names); ``remaps`` (name -> index permutation);
    ``source``.  Errors are one line starting with ``where``.
    """
    from .names import infer_flip_pairs

    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: a spec must be a mapping with 'name' and 'joints', got {type(data).__name__}")
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        raise ValueError(f"{where}: unknown spec key {unknown[0]!r} (allowed: {', '.join(_FIELDS)})")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{where}: 'name' must be a non-empty string")
    joints = data.get("joints")
    if not isinstance(joints, (list, tuple)) or not joints or not all(isinstance(j, str) for j in joints):
        raise ValueError(f"{where}: 'joints' must be a non-empty list of names")
    joints = tuple(joints)
    if "flip_pairs" in data and data["flip_pairs"] is not None:
        flip = _pairs(data["flip_pairs"], "flip_pairs", joints, where)
    elif infer_flip:
        flip = infer_flip_pairs(joints, where=where)
    else:
        flip = ()
    skeleton = _pairs(data.get("skeleton") or [], "skeleton", joints, where)
    groups_in = data.get("groups") or {}
    if not isinstance(groups_in, Mapping):
        raise ValueError(f"{where}: 'groups' must map a group name to joint names")
    groups = {str(g): _names(v, f"group {g}", joints, where) for g, v in groups_in.items()}
    sig = data.get("sigmas")
    if isinstance(sig, Mapping):
        missing = [j for j in joints if j not in sig]
        if missing:
            raise ValueError(f"{where}: 'sigmas' has no value for joint {missing[0]!r}")
        extra = [k for k in sig if k not in joints]
        if extra:
            raise ValueError(f"{where}: 'sigmas' names {extra[0]!r}, which is not one of the spec's joints")
        sig = [sig[j] for j in joints]
    if sig is not None:
        if not isinstance(sig, (list, tuple)) or not all(isinstance(s, (int, float)) and not isinstance(s, bool)
                                                         for s in sig):
            raise ValueError(f"{where}: 'sigmas' must be a list of numbers (or a mapping joint -> number)")
        sig = tuple(float(s) for s in sig)
    upper = _names(data.get("upper_body") or [], "upper_body", joints, where)
    aliases_in = data.get("aliases") or {}
    if not isinstance(aliases_in, Mapping):
        raise ValueError(f"{where}: 'aliases' must map a joint name to a list of other names")
    aliases = {}
    for j, alt in aliases_in.items():
        if isinstance(alt, str):
            alt = [alt]
        if not isinstance(alt, (list, tuple)) or not all(isinstance(a, str) for a in alt):
            raise ValueError(f"{where}: aliases of {j!r} must be a list of names")
        aliases[str(j)] = tuple(alt)
    remaps_in = data.get("remaps") or {}
    if not isinstance(remaps_in, Mapping):
        raise ValueError(f"{where}: 'remaps' must map a name to an index permutation")
    remaps = {}
    for r, perm in remaps_in.items():
        if not isinstance(perm, (list, tuple)) or not all(isinstance(i, int) and not isinstance(i, bool) for i in perm):
            raise ValueError(f"{where}: remap {r!r} must be a list of joint indices")
        remaps[str(r)] = tuple(int(i) for i in perm)
    source = data.get("source") or ""
    try:
        return KeypointSpec(name=name.strip(), joints=joints, flip_pairs=flip, skeleton=skeleton, groups=groups,
                            sigmas=sig, remaps=remaps, upper_body=upper, aliases=aliases, source=str(source))
    except ValueError as e:
        raise ValueError(f"{where}: {e}") from None
