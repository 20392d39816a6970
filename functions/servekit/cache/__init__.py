"""Inference cache and data cache (Redis/Valkey or in-process), always fail-open.

``build_cache()`` reads ``SERVEKIT_CACHE_*`` and returns the predictor the inference service
runs rows through (cached read-through, or the model directly when the cache is off) and the
loader of inputs given by reference. Nothing here imports ``redis`` or ``boto3`` at import
time; each is imported when its feature is first configured or used.
"""

from servekit.cache.factory import CacheWiring, build_cache
from servekit.cache.predictor import CachingPredictor, DirectPredictor, Predictor, RowResults
from servekit.cache.settings import CacheSettings

__all__ = [
    "CacheSettings",
    "CacheWiring",
    "CachingPredictor",
    "DirectPredictor",
    "Predictor",
    "RowResults",
    "build_cache",
]
