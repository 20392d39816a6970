"""Batch input readers: streamed lines, blocks, and errors that name the line at fault."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from servekit.batch.errors import BatchInputError
from servekit.batch.readers import MAX_LINE_BYTES, detect_format, iter_lines, read_blocks
from servekit.runtime.manifest import TensorSpec

SPEC = TensorSpec(name="input", dtype="float32", shape=(None, 3))


def blocks(data: bytes, fmt: str = "jsonl", rows: int = 2, piece: int = 5) -> list[np.ndarray]:
    """Read ``data`` fed in ``piece``-byte chunks, so lines straddle chunk boundaries."""
    chunks = [data[i : i + piece] for i in range(0, len(data), piece)]
    return [b.rows for b in read_blocks(chunks, fmt, SPEC, rows)]


def error(data: bytes, fmt: str = "jsonl") -> BatchInputError:
    with pytest.raises(BatchInputError) as caught:
        blocks(data, fmt)
    return caught.value


def test_lines_are_numbered_across_chunks_blank_lines_and_crlf() -> None:
    chunks = [b"a\r\n\nb", b"b\n", b"\n  \n", b"c"]
    assert list(iter_lines(chunks)) == [(1, b"a"), (3, b"bb"), (6, b"c")]


def test_a_line_without_end_is_bounded() -> None:
    with pytest.raises(BatchInputError, match="line 1: longer than"):
        list(iter_lines([b"x" * (MAX_LINE_BYTES + 1)]))


def test_jsonl_blocks_keep_order_cast_to_the_model_dtype_and_unwrap_inputs() -> None:
    data = b'[1, 2, 3]\n{"inputs": [4, 5.5, 6]}\n\n{"input": [7, 8, 9]}\n'
    got = blocks(data)
    assert [b.shape for b in got] == [(2, 3), (1, 3)]
    assert got[0].dtype == np.float32
    np.testing.assert_array_equal(np.concatenate(got), [[1, 2, 3], [4, 5.5, 6], [7, 8, 9]])


def test_csv_header_quotes_and_bom() -> None:
    data = b'\xef\xbb\xbfa,b,c\r\n1,2,3\r\n"4",5,6\r\n'
    np.testing.assert_array_equal(np.concatenate(blocks(data, "csv")), [[1, 2, 3], [4, 5, 6]])


@pytest.mark.parametrize(
    ("data", "code", "message"),
    [
        (b"[1,2,3]\n[1,2", "malformed_line", "line 2: not valid JSON"),
        (b"[1,2,3]\n\n[1,2]\n", "invalid_shape", "line 3: has 2 values; the model expects 3"),
        (b'[1,"2",3]\n', "invalid_dtype", "line 1: holds a string"),
        (b"[1,true,3]\n", "invalid_dtype", "line 1: holds a boolean"),
        (b'{"x": [1,2,3]}\n', "invalid_row", "line 1: an object line must be"),
        (b"7\n", "invalid_row", "line 1: expected an array of 3 numbers, got int"),
        (b"[1,2,1e39]\n", "out_of_range", "line 1: values exceed the range of float32"),
        (b"[1,null,3]\n", "invalid_dtype", "line 1: holds null"),
        (b"[1,2,3]\n[[1],[2],[3]]\n", "invalid_dtype", "line 2: holds an array"),
        (b"[1,2,3]\n[1,2,3,4]\n", "invalid_shape", "line 2: has 4 values"),
        (b"[1,2,3]\n[1,2," + b"1" + b"0" * 40 + b"]\n", "out_of_range", "line 2: values exceed"),
    ],
)
def test_jsonl_errors_name_the_line(data: bytes, code: str, message: str) -> None:
    exc = error(data)
    assert exc.code == code
    assert exc.message.startswith(message), exc.message


@pytest.mark.parametrize(
    ("data", "code", "message"),
    [
        (b"1,2,3\n1,2\n", "invalid_shape", "line 2: has 2 values"),
        (b"1,2,3\n4,x,6\n", "invalid_dtype", "line 2: column 2 holds 'x', not a number"),
        (b"1,2,3\n1,nan,3\n", "non_finite_value", "line 2: values must be finite"),
    ],
)
def test_csv_errors_name_the_line(data: bytes, code: str, message: str) -> None:
    exc = error(data, "csv")
    assert exc.code == code
    assert exc.message.startswith(message), exc.message


def test_blocks_are_yielded_before_the_rest_is_read() -> None:
    """A bad line late in a file does not stop earlier blocks being produced (and streamed)."""
    lines = [orjson.dumps([i, i, i]) for i in range(6)] + [b"oops"]
    reader = read_blocks([b"\n".join(lines)], "jsonl", SPEC, 2)
    assert next(reader).rows.shape == (2, 3)
    with pytest.raises(BatchInputError, match="line 7"):
        list(reader)


def test_format_from_extension_or_explicit() -> None:
    assert detect_format("a/b.JSONL") == "jsonl"
    assert detect_format("b.ndjson") == "jsonl"
    assert detect_format("b.csv") == "csv"
    assert detect_format("b.txt", "csv") == "csv"
    with pytest.raises(BatchInputError, match="cannot tell the format"):
        detect_format("b.txt")
    with pytest.raises(BatchInputError, match="not supported"):
        detect_format("b.csv", "parquet")


def test_models_with_nested_rows_are_refused() -> None:
    spec = TensorSpec(name="input", dtype="float32", shape=(None, 8, 8))
    with pytest.raises(BatchInputError, match="flat rows"):
        list(read_blocks([b"[1]"], "jsonl", spec, 2))
