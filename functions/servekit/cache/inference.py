"""Row-level read-through caching around a model's vectorized prediction.

Two kinds of rows, one machinery (:mod:`servekit.cache.readthrough`):

* ``predict``: a single-input classifier with labels (the digits models): a row's value is its
  float32 probabilities, the fastest path there is;
* ``run``: any other model with per-row predictions (classification, regression, embedding):
  a row's key covers every input, its value holds that row of every declared output
  (:mod:`servekit.cache.values`). A tensor model's raw outputs need not be rows, so it runs
  uncached; so does a model whose outputs turn out not to be one row per input row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from servekit.cache.failopen import FailOpenCache
from servekit.cache.keys import input_keys, row_keys
from servekit.cache.misses import Misses
from servekit.cache.readthrough import ReadThrough
from servekit.cache.rowcodec import RowCodec
from servekit.cache.settings import CacheSettings
from servekit.cache.types import CacheMode, DirectInference, OutputResults, RowResults
from servekit.cache.values import UnsplittableError
from servekit.observability import logger
from servekit.runtime.model import LoadedModel

__all__ = ["CachedInference"]

CACHED_TASKS = frozenset({"classification", "regression", "embedding"})


class CachedInference(ReadThrough):
    def __init__(self, cache: FailOpenCache, settings: CacheSettings) -> None:
        super().__init__(cache, settings)
        self._uncached: set[tuple[str, str]] = set()  # model versions whose rows do not split
        self._codecs: dict[tuple[str, str], RowCodec] = {}

    def mode(self, model: LoadedModel) -> CacheMode:
        if not model.manifest.row_classifier and (
            model.manifest.task not in CACHED_TASKS or (model.name, model.version) in self._uncached
        ):
            return "off"
        if self.admission is None or not self.admission.decision(model.name):
            return "local"
        return "shared"

    def predict(self, model: LoadedModel, tensor: npt.NDArray[Any]) -> RowResults:
        shared = self._begin(model.name)
        if not shared and (self.near is None or not self.gate.is_open(model.name)):
            return self._model_rows(model, tensor)  # no near cache, or paused: the model
        labels = len(model.manifest.labels)

        def accept(key: str, value: bytes) -> bool:  # a row: little-endian float32 per label
            return len(value) == labels * 4

        ran: list[npt.NDArray[Any]] = []  # the model's output, if it ran on every row in order

        def compute(keys: Sequence[str], first: list[int]) -> list[bytes]:
            whole = len(first) == len(tensor) and first == list(range(len(tensor)))
            probabilities = model.predict(tensor if whole else tensor[first]).probabilities
            rows = np.ascontiguousarray(probabilities, dtype="<f4")
            if whole:
                ran.append(rows)
            data, size = rows.tobytes(), labels * 4  # one copy
            return [data[i * size : (i + 1) * size] for i in range(len(first))]

        keys = row_keys(self.settings.key_prefix, model.name, _artifact(model), tensor)
        near: list[bytes | None] | None = None
        if self.near is not None:  # the lean paths: every row near, or (a model kept local)
            # none of them; most requests of one row or of a model kept local are either
            near = self.near.get_many(keys)
            if None not in near:
                data = b"".join(near)  # type: ignore[arg-type]
                if len(data) == len(keys) * labels * 4:  # near values are whole rows
                    if not shared:
                        self.gate.served(model.name, len(keys), len(keys))
                    self._record(model.name, len(keys), len(keys), 0)
                    out = np.frombuffer(data, dtype="<f4").reshape(len(keys), labels).copy()
                    return RowResults(out, [True] * len(keys), 0)
            elif not shared and near.count(None) == len(keys) == len(set(keys)):
                self.gate.served(model.name, len(keys), 0)
                return self._uncached_rows(model, tensor, keys)
        misses = Misses(model.name, accept, compute)
        found = self._lookup(keys, misses, shared, near)
        cached = [False] * len(tensor)
        corrupt = 0
        for index, (key, value) in enumerate(zip(keys, found, strict=True)):
            if isinstance(value, bytes) and accept(key, value):
                cached[index] = True
                continue
            corrupt += isinstance(value, bytes)
            misses.add(index, key, value)
        hits = sum(cached)
        computed = 0
        if misses.rows:
            computed = self._resolve(misses)
            for key, indices in misses.rows.items():
                for index in indices:
                    found[index] = misses.values[key]
            misses.mark_shared(cached)
        if not shared and self.near is not None:
            self.gate.served(model.name, len(tensor), hits)
        self._record(model.name, len(tensor), hits, corrupt)
        return RowResults(_answer(found, ran, labels), cached, computed)

    def _model_rows(self, model: LoadedModel, tensor: npt.NDArray[Any]) -> RowResults:
        """A request of a model kept local with no near cache, or one paused (neargate.py):
        the model on every row; a paused gate watches the rows for repeats."""
        rows, paused = len(tensor), self.near is not None
        if paused:
            self.gate.watch(model.name, tensor.tobytes(), rows)
        out = model.predict(tensor).probabilities
        self._record(model.name, rows, 0, 0, local=rows, paused=rows if paused else 0)
        return RowResults(out, [False] * rows, rows)

    def _uncached_rows(
        self, model: LoadedModel, tensor: npt.NDArray[Any], keys: list[str]
    ) -> RowResults:
        """A request of a model admission keeps local, none of whose rows the near cache has
        (every request at a 0% hit ratio): run as uncached, then kept near. No single flight:
        such a model costs less per row than coordinating threads would."""
        started = self.clock()
        out = np.ascontiguousarray(model.predict(tensor).probabilities, dtype="<f4")
        self._learn(model.name, (self.clock() - started) * 1000 / len(keys))
        data, size = out.tobytes(), out.shape[1] * 4
        self._keep_near([(key, data[i * size : (i + 1) * size]) for i, key in enumerate(keys)])
        self._record(model.name, len(keys), 0, 0, local=len(keys))
        return RowResults(out, [False] * len(keys), len(keys))

    def run(self, model: LoadedModel, feeds: dict[str, npt.NDArray[Any]]) -> OutputResults:
        manifest = model.manifest
        count = len(next(iter(feeds.values())))
        uncached = (model.name, model.version) in self._uncached
        if manifest.task not in CACHED_TASKS or uncached or not count:
            return _direct(model, feeds)
        codec = self._codecs.get((model.name, model.version))
        if codec is None:
            codec = self._codecs[model.name, model.version] = RowCodec(manifest)
        decoded: dict[str, Any] = {}  # the rows of this request's keys, as found or computed

        def accept(key: str, value: bytes) -> bool:
            row = codec.decode(value)
            if row is not None:
                decoded[key] = row
            return row is not None

        def compute(keys: Sequence[str], first: list[int]) -> list[bytes]:
            whole = first == list(range(count))  # every row, in order: no copy of the inputs
            outputs = model.run(feeds if whole else {n: t[first] for n, t in feeds.items()})
            rows = codec.split(outputs, len(first))
            decoded.update(zip(keys, (row for row, _ in rows), strict=True))
            return [value for _, value in rows]

        names = [spec.name for spec in manifest.inputs]
        keys = input_keys(self.settings.key_prefix, model.name, _artifact(model), names, feeds)
        misses = Misses(model.name, accept, compute)
        found = self._lookup(keys, misses, self._begin(model.name))
        cached = [False] * count
        corrupt = 0
        for index, (key, value) in enumerate(zip(keys, found, strict=True)):
            if key in decoded or (isinstance(value, bytes) and accept(key, value)):
                cached[index] = True
                continue
            corrupt += isinstance(value, bytes)
            misses.add(index, key, value)
        hits = sum(cached)
        try:
            computed = self._resolve(misses) if misses.rows else 0
            outputs = codec.assemble([decoded[key] for key in keys])
        except UnsplittableError as exc:  # not one row per input row: never cached again here
            logger.warning(
                "model served without the cache", extra={"model": model.name, "reason": str(exc)}
            )
            self._uncached.add((model.name, model.version))
            return _direct(model, feeds)
        misses.mark_shared(cached)
        self._record(model.name, count, hits, corrupt)
        return OutputResults(outputs, cached, computed)


_direct = DirectInference().run


def _artifact(model: LoadedModel) -> str:
    """The version as keys name it: with the model file's sha256 (verified at load), a key
    names one artifact and one input, whose answer never changes, even if a version were
    rebuilt under the same number. That is what makes the near cache correct across processes.
    """
    return f"{model.version}+{model.manifest.sha256[:16]}"


def _answer(
    found: list[bytes | bool | None], ran: list[npt.NDArray[Any]], labels: int
) -> npt.NDArray[Any]:
    """Every row's probabilities in request order, once ``found`` holds every row's value: the
    model's own output if it ran on every row (a request that missed them all), else one array
    of the values (one copy)."""
    if ran:
        return ran[0]
    data = b"".join(cast("list[bytes]", found))
    return np.frombuffer(data, dtype="<f4").reshape(len(found), labels).copy()
