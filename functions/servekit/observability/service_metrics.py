"""Per-version service metrics: requests, errors by class, latency and rows on every path.

Each request (or job, chunk, record) is tallied under its (capability, route, model, version)
in memory; :meth:`ServiceMetrics.flush` writes one EMF document per tally, published under a
route dimension set and a model-version one (see :mod:`servekit.observability.names`). It runs
with Powertools' own flush (``@metrics.log_metrics`` per invocation, per request on a
long-running server), so the warm path pays a dict update per request and one small JSON line
per invocation. Powertools' ``Metrics`` holds one dimension set per flush, hence this writer.

HTTP transports open a :class:`Noted` slot per request (:func:`begin`); the service that picks
the model fills it (:func:`note`), and the transport records the outcome with it. The slot is a
mutable object in a context variable, so a FastAPI sync route (run in a worker thread with a
copy of the context) still fills the transport's slot.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from contextvars import ContextVar
from typing import Final

from servekit.observability import names

__all__ = ["Noted", "ServiceMetrics", "begin", "note", "service_metrics"]

# EMF takes at most 100 values per metric per document: a fuller tally is flushed early.
_MAX_VALUES: Final = 100
_UNITS: Final = {names.LATENCY: "Milliseconds"}
_COMPACT: Final = (",", ":")


class Noted:
    """The model (and version) a request ran, filled in by the service that ran it."""

    __slots__ = ("model", "rows", "version")

    def __init__(self) -> None:
        self.model: str | None = None
        self.version: str | None = None
        self.rows = 0


_current: ContextVar[Noted | None] = ContextVar("servekit_noted_model", default=None)


def begin() -> Noted:
    """A fresh slot for this request (a transport calls it before dispatching)."""
    noted = Noted()
    _current.set(noted)
    return noted


def note(model: str, version: str, rows: int | None = None) -> None:
    """The model this request runs: the last call wins (a pipeline notes itself last, keeping
    its steps' rows)."""
    noted = _current.get()
    if noted is not None:
        noted.model, noted.version = model, version
        if rows is not None:
            noted.rows = rows


_Key = tuple[str, str, str | None, str | None]  # capability, route, model, version


class _Tally:
    __slots__ = ("errors_4xx", "errors_5xx", "latencies", "requests", "rows")

    def __init__(self) -> None:
        self.requests = self.errors_4xx = self.errors_5xx = self.rows = 0
        self.latencies: list[float] = []


class ServiceMetrics:
    """The process's tallies; ``enabled = False`` records nothing (the overhead bench)."""

    def __init__(self, namespace: str | None = None, service: str | None = None) -> None:
        self.namespace, self.service = names.destination(namespace, service)
        self.enabled = True
        self._tallies: dict[_Key, _Tally] = {}
        # A long-running process (servekit serve, the local stack's pollers) records from
        # several threads while one flushes: the tallies change under this lock only.
        self._lock = threading.Lock()
        self._heads: dict[tuple[str | bool | None, ...], str] = {}

    def record(
        self,
        capability: str,
        route: str,
        status: int,
        latency_ms: float | None,
        *,
        model: str | None = None,
        version: str | None = None,
        rows: int = 0,
        requests: int = 1,
    ) -> None:
        """``requests`` answered with ``status`` (an HTTP status, or the class a worker's
        outcome maps to: 200 done, 4xx refused input, 5xx failed) in ``latency_ms`` (``None``:
        nothing was timed, e.g. a poison message refused before inference)."""
        if not self.enabled:
            return
        key = (capability, route, model, version)
        with self._lock:
            tally = self._tallies.get(key)
            if tally is None:
                tally = self._tallies[key] = _Tally()
            tally.requests += requests
            if status >= 500:
                tally.errors_5xx += requests
            elif status >= 400:
                tally.errors_4xx += requests
            tally.rows += rows
            if latency_ms is not None:
                tally.latencies.append(latency_ms)
            full = len(tally.latencies) >= _MAX_VALUES
            if full:
                del self._tallies[key]
        if full:
            self._write(key, tally)

    def request(self, noted: Noted, route: str, status: int, latency_ms: float) -> None:
        """An HTTP request, with what its service noted."""
        self.record(
            names.API, route, status, latency_ms, model=noted.model, version=noted.version,
            rows=noted.rows,
        )  # fmt: skip

    def worker(
        self,
        capability: str,
        status: int,
        latency_ms: float | None,
        *,
        model: str | None = None,
        version: str | None = None,
        rows: int = 0,
        requests: int = 1,
    ) -> None:
        """A queue or stream worker's jobs, chunks or records (route :data:`names.WORKER`)."""
        self.record(
            capability, names.WORKER, status, latency_ms, model=model, version=version,
            rows=rows, requests=requests,
        )  # fmt: skip

    def discard(self) -> None:
        """Drop the tallies unwritten (metrics switched off)."""
        with self._lock:
            self._tallies = {}

    def flush(self) -> None:
        """One EMF line per tally since the last flush."""
        with self._lock:
            tallies, self._tallies = self._tallies, {}
        for key, tally in tallies.items():
            self._write(key, tally)

    def _write(self, key: _Key, tally: _Tally) -> None:
        timed = bool(tally.latencies)  # an untimed tally publishes no Latency at all
        head = self._heads.get((*key, timed))
        if head is None:
            head = self._heads[(*key, timed)] = self._head(key, timed)
        latency = ""
        if timed:
            values = ",".join(f"{value:.3f}" for value in tally.latencies)
            latency = f',"{names.LATENCY}":[{values}]'
        sys.stdout.write(
            f'{{"_aws":{{"Timestamp":{int(time.time() * 1000)},{head}'
            f'"{names.REQUESTS}":{tally.requests},"{names.ERRORS_4XX}":{tally.errors_4xx},'
            f'"{names.ERRORS_5XX}":{tally.errors_5xx},"{names.ROWS}":{tally.rows}{latency}}}\n'
        )

    def _head(self, key: _Key, timed: bool) -> str:
        """A key's constant part of the document, serialized once per process: the directive
        and the dimension values (the warm path then formats five numbers)."""
        capability, route, model, version = key
        dimensions: list[tuple[str, ...]] = [names.ROUTE_DIMENSIONS]
        values = {names.SERVICE: self.service, names.CAPABILITY: capability, names.ROUTE: route}
        if model is not None:  # a request refused before any model was chosen has none
            dimensions.append(names.VERSION_DIMENSIONS)
            values |= {names.MODEL: model, names.VERSION: version or "unversioned"}
        directive = {
            "Namespace": self.namespace,
            "Dimensions": dimensions,
            "Metrics": [
                {"Name": name, "Unit": _UNITS.get(name, "Count")}
                for name in names.SERVICE_METRICS
                if timed or name != names.LATENCY
            ],
        }
        return (
            f'"CloudWatchMetrics":[{json.dumps(directive, separators=_COMPACT)}]}},'
            f"{json.dumps(values, separators=_COMPACT)[1:-1]},"
        )


service_metrics = ServiceMetrics()
"""The process's recorder, flushed with Powertools' metrics (``powertools.py``)."""
