"""How one model version's rows are stored and read back, with a fast path for fixed records.

Most models (regressions, embeddings, classifiers' probabilities) have numeric outputs of a
fixed row shape: every value then has the same length and the same headers, so a request's
rows are written and read as one numpy structured array (one view over all of them) instead of
being parsed row by row. Any other model (strings, ZipMaps, free dimensions) goes through the
general parser. Both write the one format of :mod:`servekit.cache.values`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from servekit.cache import values
from servekit.runtime.manifest import Manifest

__all__ = ["RowCodec"]


class RowCodec:
    """A model version's rows: ``split`` a model run into (item, value) per row, ``decode`` a
    stored value into an item (``None`` if it is not one), ``assemble`` items into outputs.
    An item is the row's value itself (fixed records) or its decoded :data:`values.Row`."""

    def __init__(self, manifest: Manifest) -> None:
        self.manifest = manifest
        self.layout: np.dtype[Any] | None = None
        self.headers: list[tuple[int, bytes]] = []
        specs = manifest.outputs
        if all(s.dtype not in ("string", "bool") and not s.is_zipmap for s in specs) and all(
            isinstance(d, int) for s in specs for d in s.row_shape
        ):
            self._fixed()

    def _fixed(self) -> None:
        fields: dict[str, list[Any]] = {"names": [], "formats": [], "offsets": []}
        template = bytearray(values.VERSION)
        for spec in self.manifest.outputs:
            shape = tuple(int(d) for d in spec.row_shape if d is not None)
            header = values.tensor_header(spec, shape)
            self.headers.append((len(template), header))
            template += header
            dtype = np.dtype(spec.dtype).newbyteorder("<")
            fields["names"].append(spec.name)
            fields["formats"].append((dtype, shape))
            fields["offsets"].append(len(template))
            template += bytes(dtype.itemsize * int(np.prod(shape)))
        described: Any = {**fields, "itemsize": len(template)}  # a packed record, no padding
        self.layout = np.dtype(described)
        self.template = bytes(template)

    def split(self, outputs: Mapping[str, Any], rows: int) -> list[tuple[Any, bytes]]:
        if self.layout is None:
            return values.split(self.manifest, outputs, rows)
        found = values.columns(self.manifest, outputs, rows)
        records = np.frombuffer(bytearray(self.template) * rows, dtype=self.layout)
        for spec, column in zip(self.manifest.outputs, found, strict=True):
            records[spec.name] = column
        raw, size = records.tobytes(), self.layout.itemsize
        return [(raw[i : i + size], raw[i : i + size]) for i in range(0, rows * size, size)]

    def decode(self, value: bytes) -> Any | None:
        if self.layout is None:
            return values.decode(self.manifest, value)
        if len(value) != self.layout.itemsize or value[:1] != values.VERSION:
            return None
        for offset, header in self.headers:
            if value[offset : offset + len(header)] != header:
                return None
        return value

    def assemble(self, items: Sequence[Any]) -> dict[str, Any]:
        if self.layout is None:
            return values.assemble(self.manifest, items)
        records = np.frombuffer(b"".join(items), dtype=self.layout)
        # A copy per output: contiguous, aligned, native order, as onnxruntime returns it.
        return {
            spec.name: records[spec.name].astype(np.dtype(spec.dtype))
            for spec in self.manifest.outputs
        }
