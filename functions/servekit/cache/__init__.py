"""Inference cache and data cache (Redis/Valkey or in-process), always fail-open.

``build_cache()`` reads ``SERVEKIT_CACHE_*`` and returns the predictor the inference service
runs rows through (cached read-through, or the model directly when the cache is off) and the
loader of inputs given by reference. Nothing here imports ``redis`` or ``boto3`` at import
time; each is imported when its feature is first configured or used.
"""

from typing import Any

from servekit.cache.factory import CacheWiring, build_cache
from servekit.cache.settings import CacheSettings
from servekit.cache.types import DirectPredictor, Predictor, RowResults

__all__ = [
    "CacheSettings",
    "CacheWiring",
    "CachingPredictor",
    "DirectPredictor",
    "Predictor",
    "RowResults",
    "build_cache",
]


def __getattr__(name: str) -> Any:
    if name == "CachingPredictor":  # imported on use: a service without a cache never needs it
        from servekit.cache.predictor import CachingPredictor

        return CachingPredictor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
