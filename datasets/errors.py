"""Errors raised by the loaders: one line that names the file and the problem."""


class DatasetFormatError(ValueError):
    """A dataset file is missing or does not have the expected format."""

    def __init__(self, path, problem: str = None):
        # one argument is a whole message: PyTorch re-raises a worker's error as ``type(message)``
        self.path = str(path) if problem is not None else None
        self.problem = problem if problem is not None else str(path)
        super().__init__(f"{self.path}: {problem}" if problem is not None else str(path))


def read_json(path, kind: str = "annotation file"):
    """Parse a JSON file or raise :class:`DatasetFormatError` naming it
    (``"<path>: <kind> not found"`` / ``"<path>: not valid JSON (...)"``)."""
    import json

    path = str(path)
    try:
        with open(path, "r", encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise DatasetFormatError(path, f"{kind} not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DatasetFormatError(path, f"not valid JSON ({e})") from None


def read_index_file(path, kind: str = "split index file"):
    """A 1-D array of non-negative integer indices from a ``.npy`` file, or :class:`DatasetFormatError`
    naming it (missing, truncated or not ``.npy``, pickled, non-integer or negative values)."""
    import numpy as np

    path = str(path)
    try:
        arr = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise DatasetFormatError(path, f"{kind} not found") from None
    except Exception as e:  # noqa: BLE001 - numpy raises several types for truncated or foreign files
        raise DatasetFormatError(path, f"not a readable .npy {kind} ({type(e).__name__}: {e})") from None
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "iuf":
        raise DatasetFormatError(path, f"{kind} must hold integer indices, got dtype {getattr(arr, 'dtype', '?')}")
    arr = arr.ravel()
    if arr.dtype.kind == "f" and not (np.isfinite(arr).all() and (arr == np.round(arr)).all()):
        raise DatasetFormatError(path, f"{kind} holds non-integer values")
    arr = arr.astype(np.int64)
    if arr.size and arr.min() < 0:
        raise DatasetFormatError(path, f"{kind} holds negative indices")
    return arr
