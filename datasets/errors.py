"""Errors raised by the loaders: one line that names the file and the problem."""


class DatasetFormatError(ValueError):
    """A dataset file is missing or does not have the expected format."""

    def __init__(self, path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")
