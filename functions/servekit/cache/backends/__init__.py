"""Cache backends: the protocol, the in-process LRU, and Redis/Valkey (imported lazily)."""

from servekit.cache.backends.base import Backend, CacheBackendError
from servekit.cache.backends.memory import MemoryBackend

__all__ = ["Backend", "CacheBackendError", "MemoryBackend"]
