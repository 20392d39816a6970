"""Errors raised by the model runtime."""

__all__ = ["ModelLoadError", "RuntimeCoreError"]


class RuntimeCoreError(Exception):
    """Base class of the runtime's errors."""


class ModelLoadError(RuntimeCoreError):
    """A model could not be loaded: missing file, bad manifest, or checksum mismatch.

    Raised at cold start; the function fails to initialise rather than serve a wrong model.
    """
