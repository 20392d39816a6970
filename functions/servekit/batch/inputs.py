"""A batch input file as blocks of the model's input tensors by name, for any model.

Two readers. A single-input model whose rows are flat numbers keeps the fast row reader
(``readers.read_blocks``: JSON Lines rows or CSV). Every other model (several inputs,
bool or string inputs, rows of more than one dimension or of free width) reads JSON Lines of
named inputs, one row per line: ``{"features": [...], "sex": [2]}``, checked by the same
rules as ``POST /predict`` (``runtime.validation.to_feeds``). A single-input model also
takes a bare row per line. CSV holds flat rows of one input only.

A bad line is named by its 1-based number, as for rows: a block that fails is checked again
line by line to find it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from servekit.batch.errors import BatchInputError, PoisonChunkError
from servekit.batch.readers import iter_lines, read_blocks
from servekit.runtime.manifest import Manifest
from servekit.runtime.validation import InvalidInputError, json_kind, to_feeds

__all__ = ["FeedBlock", "check_chunk", "check_format", "read_feed_blocks", "reads_rows"]


@dataclass(frozen=True, slots=True)
class FeedBlock:
    """Consecutive validated rows by input name, and the file line the first one came from."""

    first_line: int
    feeds: dict[str, npt.NDArray[Any]]

    @property
    def rows(self) -> int:
        return len(next(iter(self.feeds.values())))


def reads_rows(manifest: Manifest) -> bool:
    """Whether the model's lines are flat rows of numbers (the row reader; CSV too)."""
    row_shape = manifest.input.shape[1:]
    return (
        manifest.single_input
        and len(row_shape) == 1
        and isinstance(row_shape[0], int)
        and manifest.input.dtype not in ("bool", "string")
    )


def check_format(fmt: str, manifest: Manifest) -> None:
    """CSV holds flat rows of numbers of one input; anything else needs JSON Lines."""
    if fmt == "csv" and not reads_rows(manifest):
        takes = [f"{s.name} {s.dtype}{list(s.shape)}" for s in manifest.inputs]
        raise BatchInputError(
            "unsupported_format",
            f"CSV holds flat rows of numbers for one input; model {manifest.name} takes "
            f"{takes}: send JSON Lines, one object of named inputs per line",
        )


def read_feed_blocks(
    chunks: Iterable[bytes], fmt: str, manifest: Manifest, block_rows: int
) -> Iterator[FeedBlock]:
    """Validated blocks of at most ``block_rows`` rows; raises :class:`BatchInputError`."""
    check_format(fmt, manifest)
    if reads_rows(manifest):
        for block in read_blocks(chunks, fmt, manifest.input, block_rows):
            yield FeedBlock(block.first_line, {manifest.input.name: block.rows})
        return
    numbers: list[int] = []
    lines: list[dict[str, Any]] = []
    for number, raw in iter_lines(chunks):
        lines.append(_named(raw.removeprefix(b"\xef\xbb\xbf"), number, manifest))
        numbers.append(number)
        if len(lines) == block_rows:
            yield FeedBlock(numbers[0], _feeds(lines, numbers, manifest))
            numbers, lines = [], []
    if lines:
        yield FeedBlock(numbers[0], _feeds(lines, numbers, manifest))


def _named(raw: bytes, number: int, manifest: Manifest) -> dict[str, Any]:
    """One line as ``{input name: its row}``, its names checked against the model's."""
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BatchInputError("malformed_line", f"not valid JSON ({exc})", number) from None
    declared = [spec.name for spec in manifest.inputs]
    if isinstance(document, list) and manifest.single_input:
        return {declared[0]: document}
    if not isinstance(document, dict):
        raise BatchInputError(
            "invalid_row",
            f"expected an object of named inputs {declared} (one row each), "
            f"got {json_kind(document)}",
            number,
        )
    unknown = [name for name in document if name not in declared]
    if unknown:
        raise BatchInputError(
            "unknown_input",
            f"input {unknown[0]!r} is not one the model takes (takes {declared})",
            number,
        )
    missing = [name for name in declared if name not in document]
    if missing:
        raise BatchInputError(
            "missing_input", f"input {missing[0]!r} is missing (the model takes {declared})", number
        )
    return document


def _feeds(
    lines: list[dict[str, Any]], numbers: list[int], manifest: Manifest
) -> dict[str, npt.NDArray[Any]]:
    """The block's tensors in one validation; on a fault, the first line at fault."""
    try:
        return _validated(lines, manifest)
    except InvalidInputError as exc:
        block_error = exc
    for line, number in zip(lines, numbers, strict=True):
        try:
            _validated([line], manifest)
        except InvalidInputError as exc:
            raise BatchInputError(exc.code, exc.message, number) from None
    # Each line fits alone, not together: rows differ along a free (or named) dimension.
    raise BatchInputError(block_error.code, block_error.message, numbers[0])


def _validated(lines: list[dict[str, Any]], manifest: Manifest) -> dict[str, npt.NDArray[Any]]:
    columns = {spec.name: [line[spec.name] for line in lines] for spec in manifest.inputs}
    return to_feeds(columns, manifest.inputs, len(lines))


def check_chunk(feeds: dict[str, npt.NDArray[Any]], manifest: Manifest) -> None:
    """A stored chunk still fits the model (a model replaced under a running batch does
    not): each input's dtype, rank and fixed dimensions; else the chunk cannot run."""
    for spec in manifest.inputs:
        array = feeds.get(spec.name)
        if array is not None and array.ndim == len(spec.shape):
            kind = array.dtype.kind == "O" if spec.dtype == "string" else None
            dtype = kind if kind is not None else array.dtype == np.dtype(spec.dtype)
            dims = zip(spec.shape[1:], array.shape[1:], strict=True)
            if dtype and all(not isinstance(d, int) or d == n for d, n in dims):
                continue
        found = "missing" if array is None else f"{array.dtype}{list(array.shape)}"
        raise PoisonChunkError(
            "chunk_input_mismatch",
            f"the chunk's input {spec.name!r} is {found}; the model takes "
            f"{spec.dtype}{list(spec.shape)}",
        )
