"""Joint names: matching a file's names to a spec, and left/right partners.

Whenever a file names its joints (COCO ``categories[].keypoints``, a
DeepLabCut ``bodyparts`` list), it is read **by name**, never by position.

Matching rule (:func:`joint_key`): a name is split into words at every
non-alphanumeric character, at lower-to-upper case changes (``EarBase`` ->
``ear base``), at letter/digit changes (``forelegL1`` -> ``foreleg l 1``) and
after a leading ``left``/``right`` glued to a word (``leftear`` -> ``left
ear``); words are lower-cased and these synonyms replaced:

==========================  =====
``left``                    ``l``
``right``                   ``r``
``front``, ``fore``         ``f``
``back``, ``hind``, ``rear``  ``b``
==========================  =====

and the words are joined.  So ``L_EarBase``, ``l_earbase``, ``left earbase``
and ``LeftEarBase`` are one joint, and ``left_front_paw`` equals ``L_F_Paw``.
Beyond this, a spec lists explicit aliases for names that differ in words
(``KeypointSpec.aliases``, e.g. the official Animal-Pose ``left_ear`` for
``l_earbase``).  Matching is one to one: every joint of the spec must be found
exactly once in the file and every joint of the file must belong to the spec;
anything else is refused with one line naming the file and the first joint
that does not match.

Flip partners (:func:`infer_flip_pairs`): two joints are partners when their
word lists are equal except for one word that is ``l``/``left`` in one and
``r``/``right`` in the other.  A joint with a side word and no partner is an
error (give ``flip_pairs`` explicitly); joints without a side word (``nose``,
Horse-10's ``Nearknee``) have no partner.
"""
from __future__ import annotations

import re
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

__all__ = ["joint_words", "joint_key", "infer_flip_pairs", "match_joints", "JointNameError", "SYNONYMS"]

#: word synonyms applied before comparing names
SYNONYMS = {"left": "l", "right": "r", "front": "f", "fore": "f", "back": "b", "hind": "b", "rear": "b"}
_SIDE = {"l": "r", "r": "l"}


class JointNameError(ValueError):
    """A file's joint names do not match a spec (or cannot be paired)."""


def joint_words(name: str) -> List[str]:
    """The lower-case words of a joint name, synonyms replaced (see the module docstring)."""
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(name))
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", s)
    s = re.sub(r"([A-Za-z])([0-9])", r"\1 \2", s)
    s = re.sub(r"([0-9])([A-Za-z])", r"\1 \2", s)
    words = []
    for w in re.split(r"[^0-9A-Za-z]+", s.lower()):
        if not w:
            continue
        for side in ("left", "right"):
            if w.startswith(side) and len(w) > len(side) + 1:
                words.append(side)
                w = w[len(side):]
                break
        words.append(w)
    return [SYNONYMS.get(w, w) for w in words]


def joint_key(name: str) -> str:
    """The comparison key of a joint name (``"L_EarBase"`` -> ``"learbase"``)."""
    return "".join(joint_words(name))


def infer_flip_pairs(joints: Sequence[str], where: str = "spec") -> Tuple[Tuple[int, int], ...]:
    """``(left, right)`` index pairs from left/right name patterns (rule in the module docstring)."""
    words = [joint_words(j) for j in joints]
    keys: Dict[Tuple[str, ...], int] = {}
    for i, w in enumerate(words):
        if tuple(w) in keys:
            raise JointNameError(f"{where}: joints {joints[keys[tuple(w)]]!r} and {joints[i]!r} have the same name "
                                 "once case and separators are ignored")
        keys[tuple(w)] = i
    pairs, used = [], set()
    for i, w in enumerate(words):
        sides = [p for p, t in enumerate(w) if t in _SIDE]
        if not sides or i in used:
            continue
        partner = None
        for p in sides:
            other = tuple(w[:p] + [_SIDE[w[p]]] + w[p + 1:])
            if other in keys:
                partner = keys[other]
                left = w[p] == "l"
                break
        if partner is None:
            raise JointNameError(f"{where}: joint {joints[i]!r} names a side (left/right) but no joint names the "
                                 "other side; give flip_pairs explicitly (an empty list for none)")
        used.update((i, partner))
        pairs.append((i, partner) if left else (partner, i))
    return tuple(sorted(pairs))


def match_joints(names: Sequence[str], spec, where: str) -> np.ndarray:
    """Index ``order`` with ``spec_keypoints = file_keypoints[..., order, :]``.

    ``names`` are the file's joint names in file order; ``spec`` is a
    :class:`~animalpose.keypoints.spec.KeypointSpec`.  Raises
    :class:`JointNameError` ``"<where>: ..."`` naming the first joint that does
    not match (see the module docstring for the rule).
    """
    by_key: Dict[str, int] = {}
    for k, j in enumerate(spec.joints):
        for alt in (j,) + tuple(spec.aliases.get(j, ())):
            key = joint_key(alt)
            if key in by_key and by_key[key] != k:
                raise JointNameError(f"spec {spec.name}: joints {spec.joints[by_key[key]]!r} and {j!r} cannot be told "
                                     "apart by name")
            by_key[key] = k
    order = np.full(spec.num_joints, -1, np.int64)
    for i, n in enumerate(names):
        if not isinstance(n, str):
            raise JointNameError(f"{where}: joint name {i} is {n!r}, not a string")
        k = by_key.get(joint_key(n))
        if k is None:
            raise JointNameError(f"{where}: joint {n!r} (position {i}) matches no joint of spec {spec.name} "
                                 f"({', '.join(spec.joints)})")
        if order[k] >= 0:
            raise JointNameError(f"{where}: joints {names[order[k]]!r} and {n!r} both match {spec.joints[k]!r} of "
                                 f"spec {spec.name}")
        order[k] = i
    missing = np.nonzero(order < 0)[0]
    if len(missing):
        raise JointNameError(f"{where}: has no joint matching {spec.joints[missing[0]]!r} of spec {spec.name} "
                             f"({len(names)} joints in the file, {spec.num_joints} in the spec)")
    return order


def identity_if_same(order: np.ndarray) -> Optional[np.ndarray]:
    """``None`` when ``order`` is the identity (no reordering needed), else ``order``."""
    return None if np.array_equal(order, np.arange(len(order))) else order
