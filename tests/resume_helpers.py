"""Test helper shared by the bit-exact resume tests of every method: one run of two epochs against
one epoch followed by ``--resume`` to two."""
import os

import torch


def full_and_resumed(run, tmp_path):
    """``run(out, *extra) -> exit code`` three times; returns the two ``last.pt`` contents
    ``(uninterrupted, resumed)`` and their run folders."""
    full, part = str(tmp_path / "full"), str(tmp_path / "part")
    assert run(full, "--set", "train.epochs=2") == 0
    assert run(part, "--set", "train.epochs=1") == 0
    assert run(part, "--set", "train.epochs=2", "--resume") == 0
    load = lambda d: torch.load(os.path.join(d, "last.pt"), weights_only=True)   # noqa: E731
    return load(full), load(part), full, part


def assert_same_tensors(a: dict, b: dict) -> None:
    """Two state dicts with the same keys and bit-identical tensors."""
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
