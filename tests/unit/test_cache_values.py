"""Keys over every input and the typed value format of a row of every output (no I/O)."""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import pytest

from servekit.cache.keys import input_keys
from servekit.cache.rowcodec import RowCodec
from servekit.cache.values import UnsplittableError, assemble, decode, split
from servekit.runtime.manifest import Manifest

TWO = ["features", "sex"]


def keys(feeds: dict[str, Any], names: list[str] = TWO, version: str = "1.0.0") -> list[str]:
    return input_keys("sk", "tabular-two-inputs", version, names, feeds)


def two(features: list[list[float]], sex: list[list[int]]) -> dict[str, np.ndarray]:
    return {
        "features": np.array(features, dtype=np.float32),
        "sex": np.array(sex, dtype=np.int64),
    }


def test_one_key_per_row_that_depends_on_that_row_only() -> None:
    batch = keys(two([[1.0, 2.0], [3.0, 4.0]], [[1], [2]]))
    alone = keys(two([[3.0, 4.0]], [[2]]))
    assert len(set(batch)) == 2 and batch[1] == alone[0]
    assert batch == keys(two([[1.0, 2.0], [3.0, 4.0]], [[1], [2]]))  # deterministic
    assert batch[0].startswith("sk:o:{18.tabular-two-inputs.5.1.0.0}:")


@pytest.mark.parametrize(
    "other",
    [
        two([[1.0, 2.0]], [[2]]),  # the second input differs
        two([[1.0, 2.5]], [[1]]),  # the first input differs
        # the same bytes under another dtype, or another row shape
        {"features": np.array([[1.0, 2.0]], np.float32).view(np.int32), "sex": np.array([[1]])},
        {"features": np.array([[1.0, 2.0]], np.float32), "sex": np.array([[1]]).view(np.float64)},
        {"features": np.array([[[1.0], [2.0]]], np.float32), "sex": np.array([[1]])},
        {"features": np.array([[1.0, 2.0]], np.float32), "sex": np.array([1])},
    ],
)
def test_keys_differ_when_any_one_input_differs(other: dict[str, np.ndarray]) -> None:
    assert keys(other) != keys(two([[1.0, 2.0]], [[1]]))


def test_names_order_model_and_version_are_part_of_the_key() -> None:
    feeds = two([[1.0, 2.0]], [[1]])
    renamed = {"features": feeds["features"], "sexe": feeds["sex"]}
    assert keys(renamed, ["features", "sexe"]) != keys(feeds)
    assert keys(feeds, ["sex", "features"]) != keys(feeds)
    assert keys(feeds, version="1.0.1") != keys(feeds)
    assert input_keys("sk", "other", "1.0.0", TWO, feeds) != keys(feeds)


def test_strings_and_bools_are_encoded_unambiguously() -> None:
    def text(*rows: list[str]) -> list[str]:
        tensor = np.empty((len(rows), 2), dtype=object)
        tensor[...] = list(rows)
        return input_keys("sk", "m", "1", ["t"], {"t": tensor})

    assert text(["ab", "c"]) != text(["a", "bc"])
    assert text(["", "abc"]) != text(["abc", ""])
    assert text(["é", "x"]) == text(["é", "x"])
    flags = input_keys("sk", "m", "1", ["b"], {"b": np.array([[True, False]])})
    assert flags != input_keys("sk", "m", "1", ["b"], {"b": np.array([[1, 0]], np.uint8)})
    assert flags != input_keys("sk", "m", "1", ["b"], {"b": np.array([[False, True]])})


MANIFEST = Manifest.from_dict(
    {
        "schema_version": 2,
        "name": "mixed",
        "version": "1",
        "sha256": "0" * 64,
        "task": "classification",
        "inputs": [{"name": "x", "dtype": "float32", "shape": [None, 2]}],
        "outputs": [
            {"name": "label", "dtype": "string", "shape": [None]},
            {"name": "probabilities", "dtype": "seq(map(string,tensor(float)))", "shape": [None]},
            {"name": "ids", "dtype": "seq(map(int64,tensor(float)))", "shape": [None]},
            {"name": "scores", "dtype": "float64", "shape": [None, 2]},
            {"name": "flags", "dtype": "bool", "shape": [None, None]},
        ],
        "probabilities_output": "probabilities",
    }
)


def outputs() -> dict[str, Any]:
    label = np.array(["setosa", "vérsicolor"], dtype=object)
    return {
        "label": label,
        "probabilities": [
            {"setosa": 0.75, "vérsicolor": 0.25},
            {"setosa": 0.125, "vérsicolor": 0.875},
        ],
        "ids": [{0: 0.5, 7: 0.5}, {0: 1.0, 7: 0.0}],
        "scores": np.array([[0.1, 0.2], [0.3, 0.4]]),
        "flags": np.array([[True, False, True], [False, False, True]]),
    }


def test_rows_round_trip_through_their_values_exactly() -> None:
    rows = split(MANIFEST, outputs(), 2)
    decoded = [decode(MANIFEST, value) for _, value in rows]
    assert all(row is not None for row in decoded)
    rebuilt = assemble(MANIFEST, decoded)  # type: ignore[arg-type]
    expected = outputs()
    assert rebuilt["label"].dtype == object and rebuilt["label"].tolist() == [
        "setosa",
        "vérsicolor",
    ]
    assert rebuilt["probabilities"] == expected["probabilities"]
    assert rebuilt["ids"] == expected["ids"] and isinstance(next(iter(rebuilt["ids"][0])), int)
    np.testing.assert_array_equal(rebuilt["scores"], expected["scores"])
    assert rebuilt["scores"].dtype == np.float64
    np.testing.assert_array_equal(rebuilt["flags"], expected["flags"])
    # a hit and a freshly computed row assemble together, in order
    mixed = assemble(MANIFEST, [rows[0][0], decoded[1]])  # type: ignore[list-item]
    np.testing.assert_array_equal(mixed["scores"], expected["scores"])


def test_anything_but_a_valid_row_of_these_outputs_is_none() -> None:
    (_, value), _ = split(MANIFEST, outputs(), 2)
    other = Manifest.from_dict(
        {
            **MANIFEST.to_dict(),
            "outputs": [
                {**o.to_dict(), "dtype": "float32"} if o.name == "scores" else o.to_dict()
                for o in MANIFEST.outputs
            ],
        }
    )
    for corrupt in (
        b"",
        b"garbage",
        value[:-1],  # truncated
        value + b"\x00",  # trailing bytes
        b"\x02" + value[1:],  # another format version
        value.replace(b"t\x09", b"t\x08", 1),  # the label's dtype code changed
        value[:4] + struct.pack("<I", 2**31) + value[8:],  # a string longer than the value
        # a scores row claiming (2**32 - 1) ** 2 values: more than int64 arithmetic holds
        value.replace(
            b"t\x08\x01\x02\x00\x00\x00", b"t\x08\x02\xff\xff\xff\xff\xff\xff\xff\xff", 1
        ),
        bytes(len(value)),
    ):
        assert corrupt != value and decode(MANIFEST, corrupt) is None, corrupt
    assert decode(other, value) is None  # a dtype other than declared


def test_outputs_that_are_not_one_row_per_input_row_cannot_be_split() -> None:
    with pytest.raises(UnsplittableError, match="3 inputs"):
        split(MANIFEST, outputs(), 3)
    with pytest.raises(UnsplittableError, match="'scores' is not a float64"):
        split(MANIFEST, {**outputs(), "scores": np.zeros((2, 2), np.float32)}, 2)
    with pytest.raises(UnsplittableError, match="sequence of maps"):
        split(MANIFEST, {**outputs(), "ids": np.zeros(2)}, 2)
    rows = [row for row, _ in split(MANIFEST, outputs(), 2)]
    ragged = (*rows[1][:4], np.array([True]))
    with pytest.raises(UnsplittableError, match="differ in shape"):
        assemble(MANIFEST, [rows[0], ragged])


NUMERIC = Manifest.from_dict(
    {
        **MANIFEST.to_dict(),
        "task": "regression",
        "probabilities_output": None,
        "outputs": [
            {"name": "variable", "dtype": "float32", "shape": [None, 1]},
            {"name": "scores", "dtype": "float64", "shape": [None, 2]},
            {"name": "index", "dtype": "int64", "shape": [None]},
        ],
    }
)


def numeric_outputs() -> dict[str, np.ndarray]:
    return {
        "variable": np.array([[1.5], [-2.25]], np.float32),
        "scores": np.array([[0.1, 0.2], [0.3, 0.4]]),
        "index": np.array([7, -1], np.int64),
    }


def test_fixed_records_are_the_same_format_read_as_one_array() -> None:
    codec = RowCodec(NUMERIC)
    assert codec.layout is not None and RowCodec(MANIFEST).layout is None
    rows = codec.split(numeric_outputs(), 2)
    general = split(NUMERIC, numeric_outputs(), 2)
    assert [value for _, value in rows] == [value for _, value in general]  # byte for byte
    assert all(decode(NUMERIC, value) is not None for _, value in rows)
    items = [codec.decode(value) for _, value in rows]
    rebuilt = codec.assemble(items[::-1])
    for name, expected in numeric_outputs().items():
        np.testing.assert_array_equal(rebuilt[name], expected[::-1])
        assert rebuilt[name].dtype == expected.dtype and rebuilt[name].flags.c_contiguous
    value = rows[0][1]
    for corrupt in (
        value[:-1],
        value + b"\x00",
        b"\x02" + value[1:],
        value.replace(b"t\x07", b"t\x08", 1),
    ):
        assert corrupt != value and codec.decode(corrupt) is None
    with pytest.raises(UnsplittableError, match="3 inputs"):
        codec.split(numeric_outputs(), 3)
