"""Batch input files for any model: named objects per line (strings, booleans, free
dimensions), the line at fault named, chunks stored without pickles, and a tensor model's
output lines."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import numpy as np
import orjson
import pytest
from moto import mock_aws

from servekit.batch.bucket import BatchBucket
from servekit.batch.errors import BatchInputError, PoisonChunkError
from servekit.batch.inputs import check_chunk, check_format, read_feed_blocks, reads_rows
from servekit.batch.output import encode_outputs
from servekit.runtime.manifest import Manifest

TEXT = Manifest.from_dict(
    {
        "schema_version": 2,
        "name": "texts",
        "version": "1",
        "sha256": "0" * 64,
        "task": "tensor",
        "inputs": [
            {"name": "text", "dtype": "string", "shape": [None]},
            {"name": "flags", "dtype": "bool", "shape": [None, 2]},
            {"name": "ids", "dtype": "int32", "shape": [None, "seq"]},
        ],
        "outputs": [{"name": "scores", "dtype": "float32", "shape": [None, 2]}],
    }
)
LINE = {"text": "a", "flags": [True, False], "ids": [1, 2, 3]}


def lines(*documents: Any) -> list[bytes]:
    data = b"".join(orjson.dumps(d) + b"\n" for d in documents)
    return [data[i : i + 7] for i in range(0, len(data), 7)]  # lines straddle reads


def error(*documents: Any) -> BatchInputError:
    with pytest.raises(BatchInputError) as caught:
        list(read_feed_blocks(lines(*documents), "jsonl", TEXT, 2))
    return caught.value


def test_named_lines_become_typed_blocks_by_input() -> None:
    other = {"text": "b", "flags": [False, False], "ids": [4, 5, 6]}
    blocks = list(read_feed_blocks(lines(LINE, other, LINE), "jsonl", TEXT, 2))
    assert [(b.first_line, b.rows) for b in blocks] == [(1, 2), (3, 1)]
    feeds = blocks[0].feeds
    assert feeds["text"].tolist() == ["a", "b"] and feeds["text"].dtype == object
    assert feeds["flags"].dtype == np.bool_ and feeds["ids"].dtype == np.int32
    assert feeds["ids"].tolist() == [[1, 2, 3], [4, 5, 6]]


@pytest.mark.parametrize(
    ("bad", "code", "message"),
    [
        ({**LINE, "text": 3}, "invalid_dtype", "line 2: input 'text' row 0 holds int"),
        ({**LINE, "flags": [1, 0]}, "invalid_dtype", "line 2: input 'flags' row 0 holds int"),
        ({**LINE, "ids": [1.5, 2, 3]}, "invalid_dtype", "line 2: input 'ids' the model takes"),
        ({"text": "a", "flags": [True, True]}, "missing_input", "line 2: input 'ids' is"),
        ({**LINE, "x": 1}, "unknown_input", "line 2: input 'x' is not one"),
        (["a"], "invalid_row", "line 2: expected an object of named inputs"),
        ({**LINE, "text": "x" * 65537}, "out_of_range", "line 2: input 'text' row 0 holds a"),
        ({**LINE, "ids": [1, 2]}, "invalid_shape", "line 1: input 'ids' rows differ in shape"),
    ],
)
def test_the_line_at_fault_is_named(bad: Any, code: str, message: str) -> None:
    caught = error(LINE, bad)
    assert caught.code == code
    assert caught.message.startswith(message), caught.message


def test_csv_and_the_row_reader_only_for_flat_numbers_of_one_input() -> None:
    assert not reads_rows(TEXT)
    with pytest.raises(BatchInputError, match="CSV holds flat rows") as caught:
        check_format("csv", TEXT)
    assert "text string[None]" in caught.value.message
    check_format("jsonl", TEXT)


@pytest.fixture
def bucket() -> Iterator[BatchBucket]:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="chunks")
        yield BatchBucket(s3, "chunks")


def test_chunks_round_trip_without_pickles(bucket: BatchBucket) -> None:
    (block,) = read_feed_blocks(lines(LINE, LINE), "jsonl", TEXT, 2)
    bucket.put_feeds("c.npz", block.feeds)
    loaded = bucket.get_feeds("c.npz", ["text", "flags", "ids"])
    assert loaded is not None and loaded.keys() == block.feeds.keys()
    for name, tensor in block.feeds.items():
        assert loaded[name].tolist() == tensor.tolist() and loaded[name].dtype == tensor.dtype
    check_chunk(loaded, TEXT)
    bucket.put_feeds("one.npy", {"x": np.ones((2, 3), np.float32)})
    assert bucket.get_array("one.npy") is not None  # one input: today's .npy array
    with pytest.raises(PoisonChunkError, match="the chunk's input 'ids' is missing"):
        check_chunk({k: v for k, v in loaded.items() if k != "ids"}, TEXT)


def test_a_tensor_model_writes_each_row_of_every_output() -> None:
    outputs = {"scores": np.array([[0.5, 1.5], [2.0, 3.0]], np.float32)}
    written = [orjson.loads(line) for line in encode_outputs(4, TEXT, outputs, 2).splitlines()]
    assert written == [
        {"row": 4, "outputs": {"scores": [0.5, 1.5]}},
        {"row": 5, "outputs": {"scores": [2.0, 3.0]}},
    ]
    with pytest.raises(PoisonChunkError, match="one line per row") as caught:
        encode_outputs(0, TEXT, {"scores": np.zeros((1, 2), np.float32)}, 2)
    assert caught.value.code == "unsupported_output"
