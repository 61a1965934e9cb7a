"""Errors that travel to the caller as JSON with the right HTTP status."""


class APIError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


class ModelLoadError(RuntimeError):
    """A model is missing or corrupt: start-up fails with a message naming the package."""
