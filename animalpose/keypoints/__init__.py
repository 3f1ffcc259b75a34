"""Keypoint specifications: the one place that knows joint orders.

Every dataset, codec, model head and report reads its joint names, flip pairs,
skeleton, report groups and OKS sigmas from a :class:`KeypointSpec` looked up
with :func:`get_spec` (a registered name or a spec file).  Files that name
their joints are read by name (:func:`match_joints`).  Cross-spec
correspondences (Animal-Pose 20 to the TigDog-style 14 subset, human COCO 17
to the animal joints they share) are :class:`KeypointMapping` objects looked
up with :func:`get_mapping`.

* :mod:`.spec` - the :class:`KeypointSpec` data type and its by-name file form;
* :mod:`.names` - joint-name matching and left/right partner inference;
* :mod:`.builtin` - the published specs;
* :mod:`.registry` - lookup, spec files, specs from COCO categories;
* :mod:`.mapping` - correspondences between specs.
"""
from .builtin import ANIMALPOSE_CATEGORIES, TIGER_REMAP
from .mapping import KeypointMapping, get_mapping, list_mappings
from .names import JointNameError, infer_flip_pairs, joint_key, joint_words, match_joints
from .registry import (BUILTIN_NAMES, builtin_spec_for, get_spec, is_spec_path, list_specs, load_spec_file, register_spec,
                       spec_from_coco)
from .spec import KeypointSpec, spec_from_dict

__all__ = [
    "KeypointSpec", "spec_from_dict", "KeypointMapping", "get_spec", "list_specs", "register_spec", "load_spec_file",
    "spec_from_coco", "is_spec_path", "BUILTIN_NAMES", "builtin_spec_for", "get_mapping", "list_mappings", "match_joints", "joint_key",
    "joint_words", "infer_flip_pairs", "JointNameError", "TIGER_REMAP", "ANIMALPOSE_CATEGORIES",
]
