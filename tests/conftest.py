"""Shared fixtures: built-in data rendered once per test session (per xdist worker)."""
import os
import sys

import json
from pathlib import Path

import pytest

# `make test` runs two xdist workers on two cores: one intra-op thread each (inherited by the
# commands the tests start). Two threads per worker oversubscribe the cores, and torch's spinning
# OpenMP threads then make CPU-bound tests many times slower whenever anything else runs.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


@pytest.fixture(scope="session")
def animal_data(tmp_path_factory):
    """Tiny animal data written by the writers, with what they returned."""
    from datasets.render.animal_writers import write_animalpose, write_synthetic_animal, write_tigdog

    root = str(tmp_path_factory.mktemp("animal_data"))
    written = {
        "synthetic_horse": write_synthetic_animal(os.path.join(root, "synthetic_animal"), "horse", 10, seed=1,
                                                  size=(160, 120)),
        "synthetic_tiger": write_synthetic_animal(os.path.join(root, "synthetic_animal"), "tiger", 6, seed=1,
                                                  size=(160, 120)),
        "tigdog_horse": write_tigdog(root, "horse", 4, 6, seed=2, size=(160, 120)),
        "tigdog_tiger": write_tigdog(root, "tiger", 3, 6, seed=2, size=(160, 120)),
        "animalpose": write_animalpose(root, 12, seed=3, size=(160, 120), multi_fraction=0.5),
    }
    from datasets.render.generate import write_tigdog_split
    for animal in ("horse", "tiger"):                # the official-format split files the configs name
        write_tigdog_split(root, animal, written[f"tigdog_{animal}"])
    return root, written


def reference_file() -> Path:
    """``checkpoint_keys.json`` (official state_dict keys and shapes): ``$ANIMALPOSE_REFERENCE_DIR`` or the
    ``shared/reference`` folder beside the checkout."""
    env = os.environ.get("ANIMALPOSE_REFERENCE_DIR")
    if env:
        return Path(env) / "checkpoint_keys.json"
    return Path(__file__).resolve().parents[2] / "shared" / "reference" / "checkpoint_keys.json"


@pytest.fixture(scope="session")
def checkpoint_keys():
    """The official key lists, or a skip naming where they were looked for (absent on a user's clone)."""
    path = reference_file()
    if not path.is_file():
        pytest.skip(f"official state_dict key lists not found at {path} "
                    f"(set ANIMALPOSE_REFERENCE_DIR to the folder holding checkpoint_keys.json)")
    with open(path) as f:
        return json.load(f)
