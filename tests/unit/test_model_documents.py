"""The JSON documents written next to each example model (models/documents.py)."""

from __future__ import annotations

import json

import numpy as np

from models.documents import (
    EXAMPLE_ROWS,
    add_options,
    example_request,
    json_bytes,
    model_description,
)
from models.specs import REGISTRY

SPEC = REGISTRY[0]


def test_json_bytes_is_sorted_indented_utf8_with_a_final_newline() -> None:
    data = json_bytes({"b": 1, "a": ["é", None]})
    assert data == '{\n  "a": [\n    "é",\n    null\n  ],\n  "b": 1\n}\n'.encode()
    assert json.loads(data) == {"a": ["é", None], "b": 1}


def test_add_options_state_the_task_labels_and_description() -> None:
    options = add_options(SPEC, "a description")
    assert (options.name, options.version) == (SPEC.name, SPEC.version)
    assert (options.task, options.description) == ("classification", "a description")
    assert tuple(options.labels) == tuple(str(d) for d in range(10))


def test_model_description_names_the_rows_and_accuracy() -> None:
    text = model_description(SPEC, 1347, 450, 0.96889)
    assert text.startswith(f"{SPEC.description}; ")
    assert "1347 training rows" in text
    assert text.endswith("test accuracy 0.9689 on 450 held-out rows")


def test_example_request_takes_the_first_rows_predicted_right() -> None:
    x_test = np.arange(5 * 64, dtype=np.float64).reshape(5, 64) % 17
    y_test = np.array([3, 1, 4, 1, 5], dtype=np.int64)
    predicted = np.array([0, 1, 4, 1, 5], dtype=np.int64)  # row 0 is wrong
    example = example_request(SPEC, x_test, y_test, predicted)
    assert EXAMPLE_ROWS == 2
    assert example == {
        "model": SPEC.name,
        "inputs": [[int(v) for v in x_test[1]], [int(v) for v in x_test[2]]],
        "expected_labels": ["1", "4"],
    }
    assert all(isinstance(v, int) for row in example["inputs"] for v in row)
