"""Input validation against a model's declared input tensor (no I/O)."""

from __future__ import annotations

import numpy as np
import pytest

from servekit.runtime.manifest import TensorSpec
from servekit.runtime.validation import InvalidInputError, to_tensor

SPEC = TensorSpec(name="input", dtype="float32", shape=(None, 4))


def test_single_row_becomes_a_batch_of_one() -> None:
    batch = to_tensor([1, 2.5, 3, 4], SPEC, max_rows=8)
    assert batch.shape == (1, 4)
    assert batch.dtype == np.float32
    np.testing.assert_array_equal(batch[0], [1, 2.5, 3, 4])


def test_many_rows_keep_their_order() -> None:
    batch = to_tensor([[1, 2, 3, 4], [5, 6, 7, 8]], SPEC, max_rows=8)
    np.testing.assert_array_equal(batch[:, 0], [1, 5])


@pytest.mark.parametrize(
    ("inputs", "code", "fragment"),
    [
        ({"a": 1}, "invalid_type", "array"),
        ([], "empty_inputs", "at least one row"),
        ([[1, 2, 3]], "invalid_shape", "row 0 has 3 values"),
        ([[1, 2, 3, 4], 5], "invalid_shape", "row 1 must be an array"),
        ([[1, 2, 3, "4"]], "invalid_dtype", "a string"),
        ([[1, 2, 3, True]], "invalid_dtype", "a boolean"),
        ([[1, 2, 3, None]], "invalid_dtype", "null"),
        ([[1, 2, 3, {"v": 1}]], "invalid_dtype", "an object"),
        ([[1, 2, 3, 1e39]], "out_of_range", "float32"),
        ([[1, 2, 3, 10**400]], "out_of_range", "too large"),
        ([[1, 2, 3, 4]] * 9, "too_many_rows", "at most 8"),
    ],
)
def test_bad_inputs_name_the_problem(inputs: object, code: str, fragment: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        to_tensor(inputs, SPEC, max_rows=8)
    assert caught.value.code == code
    assert fragment in caught.value.message


def test_non_finite_values_are_refused() -> None:
    with pytest.raises(InvalidInputError) as caught:
        to_tensor([[1, 2, 3, float("nan")]], SPEC, max_rows=8)
    assert caught.value.code == "non_finite_value"


def test_multi_dimensional_rows() -> None:
    image = TensorSpec(name="input", dtype="float32", shape=(None, 2, 3))
    assert to_tensor([[1, 2, 3], [4, 5, 6]], image, max_rows=4).shape == (1, 2, 3)
    with pytest.raises(InvalidInputError, match="row 0 has 2 values"):
        to_tensor([[[1, 2], [4, 5, 6]]], image, max_rows=4)


def test_integer_inputs_must_be_whole_and_in_range() -> None:
    ids = TensorSpec(name="ids", dtype="int32", shape=(None, 2))
    assert to_tensor([[1, 2]], ids, max_rows=4).dtype == np.int32
    with pytest.raises(InvalidInputError, match="whole numbers"):
        to_tensor([[1, 2.5]], ids, max_rows=4)
    with pytest.raises(InvalidInputError, match="range of int32"):
        to_tensor([[1, 2**40]], ids, max_rows=4)
