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
