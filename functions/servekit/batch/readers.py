"""Streamed, validated readers for batch input files: JSON Lines and CSV.

A file is read as a stream of byte chunks (an S3 body) and turned into blocks of rows in the
model's input dtype; nothing holds more than one block. Every row is checked, and an error
names the 1-based line of the file at fault, so a user can open the file there.

* JSON Lines: each non-blank line is an array of numbers, ``{"inputs": [...]}``, or the row
  under the input's name (``{"input": [...]}``, a named object as ``batch.inputs`` reads).
* CSV: one row per line, comma-separated numbers; a first line that is not numbers is a header.

Checks are vectorized where the happy path allows (one ``orjson.loads`` and one ``np.array``
per block); only a block that fails is re-read line by line to find and name the culprit.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import orjson

from servekit.batch.errors import BatchInputError
from servekit.runtime.manifest import TensorSpec
from servekit.runtime.validation import json_kind

__all__ = ["FORMATS", "MAX_LINE_BYTES", "RowBlock", "detect_format", "iter_lines", "read_blocks"]

FORMATS: Final = ("jsonl", "csv")
MAX_LINE_BYTES: Final = 1 << 20
_EXTENSIONS: Final = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv"}
_NUMBERS: Final = frozenset({int, float})
# JSON tokens that are not numbers or arrays: a block without any is checked in one numpy call.
_NOT_NUMBERS: Final = (b'"', b"{", b"true", b"false", b"null")


@dataclass(frozen=True, slots=True)
class RowBlock:
    """Consecutive validated rows, and the file line the first one came from."""

    first_line: int
    rows: npt.NDArray[Any]


def detect_format(key: str, explicit: str | None = None) -> str:
    """``jsonl`` or ``csv``: the explicit choice, else from the object key's extension."""
    if explicit is not None:
        if explicit not in FORMATS:
            raise BatchInputError(
                "unsupported_format", f"format {explicit!r} is not supported; use one of {FORMATS}"
            )
        return explicit
    lowered = key.lower()
    for extension, fmt in _EXTENSIONS.items():
        if lowered.endswith(extension):
            return fmt
    raise BatchInputError(
        "unsupported_format",
        f"cannot tell the format of {key!r} from its extension ({', '.join(_EXTENSIONS)}); "
        "pass 'format': 'jsonl' or 'csv'",
    )


def iter_lines(chunks: Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    """``(line number, line)`` for each non-blank line of a byte stream, ends stripped."""
    pending = b""
    number = 0
    for chunk in chunks:
        parts = (pending + chunk).split(b"\n")
        pending = parts.pop()
        if len(pending) > MAX_LINE_BYTES:
            raise BatchInputError(
                "line_too_long", f"longer than {MAX_LINE_BYTES} bytes", number + 1
            )
        for part in parts:
            number += 1
            line = part.strip()
            if line:
                yield number, line
    if pending.strip():
        yield number + 1, pending.strip()


def read_blocks(
    chunks: Iterable[bytes], fmt: str, spec: TensorSpec, block_rows: int
) -> Iterator[RowBlock]:
    """Validated blocks of at most ``block_rows`` rows; raises :class:`BatchInputError`."""
    width = _row_width(spec)
    parse = partial(_parse_jsonl, name=spec.name) if fmt == "jsonl" else _parse_csv
    numbers: list[int] = []
    lines: list[bytes] = []
    first = True
    for number, raw in iter_lines(chunks):
        line = raw
        if first:
            first = False
            line = raw.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte order mark
            if fmt == "csv" and _is_header(line):
                continue
        numbers.append(number)
        lines.append(line)
        if len(lines) == block_rows:
            yield RowBlock(numbers[0], _cast(parse(lines, numbers, width), numbers, spec))
            numbers, lines = [], []
    if lines:
        yield RowBlock(numbers[0], _cast(parse(lines, numbers, width), numbers, spec))


def _row_width(spec: TensorSpec) -> int:
    row_shape = spec.shape[1:]
    if len(row_shape) != 1 or row_shape[0] is None:
        raise BatchInputError(
            "unsupported_model",
            f"batch files hold flat rows; this model's rows have shape {list(row_shape)}",
        )
    return int(row_shape[0])


def _parse_jsonl(lines: list[bytes], numbers: list[int], width: int, name: str) -> npt.NDArray[Any]:
    document = b"[" + b",".join(lines) + b"]"
    try:
        rows = orjson.loads(document)
    except orjson.JSONDecodeError:
        for line, number in zip(lines, numbers, strict=True):
            try:
                orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise BatchInputError("malformed_line", f"not valid JSON ({exc})", number) from None
        raise  # pragma: no cover - the joined document failed, so one line must fail
    if not any(token in document for token in _NOT_NUMBERS):
        # Only arrays of numbers can be here: numpy's own type inference checks the rest in C
        # (a ragged block raises, a nested one has ndim 3, an integer past int64 is 'O').
        try:
            fast = np.array(rows)
        except ValueError:
            fast = None
        if (
            fast is not None
            and fast.ndim == 2
            and fast.shape[1] == width
            and fast.dtype.kind in "if"
        ):
            return fast
    for index, item in enumerate(rows):
        row = item
        if type(row) is dict:
            rows[index] = row = _unwrap(row, numbers[index], name)
        if type(row) is not list or len(row) != width or not set(map(type, row)) <= _NUMBERS:
            _explain_row(row, width, numbers[index])
    try:
        return np.array(rows, dtype=np.float64)
    except OverflowError:  # a JSON integer beyond float64
        raise BatchInputError("out_of_range", "holds a number too large to represent") from None


def _unwrap(row: dict[str, Any], number: int, name: str) -> Any:
    if len(row) != 1 or not {"inputs", name} & row.keys():
        raise BatchInputError(
            "invalid_row",
            f'an object line must be {{"inputs": [...]}} or {{"{name}": [...]}}, '
            f"got keys {sorted(row)}",
            number,
        )
    return next(iter(row.values()))


def _explain_row(row: Any, width: int, number: int) -> None:
    if type(row) is not list:
        raise BatchInputError(
            "invalid_row", f"expected an array of {width} numbers, got {json_kind(row)}", number
        )
    if len(row) != width:
        raise BatchInputError(
            "invalid_shape", f"has {len(row)} values; the model expects {width}", number
        )
    bad = next(v for v in row if type(v) not in _NUMBERS)
    raise BatchInputError(
        "invalid_dtype", f"holds {json_kind(bad)}; every value must be a number", number
    )


def _parse_csv(lines: list[bytes], numbers: list[int], width: int) -> npt.NDArray[np.float64]:
    text = [line.decode("utf-8", "replace") for line in lines]
    try:
        rows = np.loadtxt(text, delimiter=",", dtype=np.float64, ndmin=2, quotechar='"')
        if rows.shape[1] == width:
            return rows
    except ValueError:
        pass
    for line, number in zip(text, numbers, strict=True):
        cells = [c.strip().strip('"') for c in line.split(",")]
        if len(cells) != width:
            raise BatchInputError(
                "invalid_shape", f"has {len(cells)} values; the model expects {width}", number
            )
        for column, cell in enumerate(cells, start=1):
            try:
                float(cell)
            except ValueError:
                raise BatchInputError(
                    "invalid_dtype", f"column {column} holds {cell!r}, not a number", number
                ) from None
    raise BatchInputError("malformed_line", "cannot be read as CSV", numbers[0])


def _cast(rows: npt.NDArray[Any], numbers: list[int], spec: TensorSpec) -> npt.NDArray[Any]:
    finite = np.isfinite(rows).all(axis=1)
    if not finite.all():
        number = numbers[int(np.argmin(finite))]
        raise BatchInputError("non_finite_value", "values must be finite numbers", number)
    dtype = np.dtype(spec.dtype)
    limit = np.finfo(dtype).max if dtype.kind == "f" else np.iinfo(dtype).max
    too_big = np.abs(rows).max(axis=1) > limit
    if too_big.any():
        number = numbers[int(np.argmax(too_big))]
        raise BatchInputError("out_of_range", f"values exceed the range of {spec.dtype}", number)
    if dtype.kind != "f":
        whole = (rows == np.trunc(rows)).all(axis=1)
        if not whole.all():
            number = numbers[int(np.argmin(whole))]
            raise BatchInputError("invalid_dtype", f"the model takes {spec.dtype}", number)
    return rows.astype(dtype)


def _is_header(line: bytes) -> bool:
    try:
        [float(cell.strip().strip(b'"')) for cell in line.split(b",")]
    except ValueError:
        return True
    return False
