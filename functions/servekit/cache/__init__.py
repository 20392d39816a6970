"""Inference cache and data cache (Redis/Valkey or in-process), always fail-open.

``build_cache()`` reads ``SERVEKIT_CACHE_*`` and returns the inference path the inference
service runs every prediction through (cached read-through, or the model directly when the
cache is off) and the loader of inputs given by reference. Nothing here imports ``redis`` or
``boto3`` at import time; each is imported when its feature is first configured or used.
"""

from typing import Any

from servekit.cache.settings import CacheSettings
from servekit.cache.types import DirectInference, InferencePath, OutputResults, RowResults
from servekit.cache.wiring import CacheWiring, build_cache

__all__ = [
    "CacheSettings",
    "CacheWiring",
    "CachedInference",
    "DirectInference",
    "InferencePath",
    "OutputResults",
    "RowResults",
    "build_cache",
]


def __getattr__(name: str) -> Any:
    if name == "CachedInference":  # imported on use: a service without a cache never needs it
        from servekit.cache.inference import CachedInference

        return CachedInference
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
