"""The payload between the router and a ``function``-placed step (Lambda Invoke, JSON both
ways), and its answer. Version 1:

- request: ``{"v": 1, "step": "pipeline/step", "deadline_ms": float, "given": GIVEN}`` where
  GIVEN is ``{"request": <the request's inputs, as sent>}`` or ``{"tensors": TENSORS}`` (the
  previous step's outputs), TENSORS ``{name: {"dtype", "shape", "data"}}`` (bytes inputs: a
  list of base64 strings, dtype ``bytes``);
- answer: ``{"v": 1, "tensors": TENSORS, "latency_ms": float, "model": {...}?}`` or
  ``{"v": 1, "error": {"status", "code", "message"}}`` (the step's own refusal, its client
  error or its timeout: already naming the step). A crash is the invocation's function
  error, never an answer.

float32 survives JSON exactly (float32 → double → shortest repr → double → float32), so a
function-placed step answers what the same step inline answers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from servekit.pipelines.functions import BYTES
from servekit.pipelines.values import Value

__all__ = [
    "PAYLOAD_VERSION",
    "PayloadError",
    "decode_given",
    "decode_tensors",
    "encode_given",
    "encode_tensors",
]

PAYLOAD_VERSION = 1


class PayloadError(ValueError):
    """A payload this version cannot read (the step answers it as its own failure)."""


def encode_tensors(tensors: dict[str, Any]) -> dict[str, Any]:
    encoded: dict[str, Any] = {}
    for name, tensor in tensors.items():
        if isinstance(tensor, list):  # a bytes input: base64 strings, as the request had them
            encoded[name] = {"dtype": BYTES, "shape": [len(tensor)], "data": tensor}
            continue
        array = np.asarray(tensor)
        encoded[name] = {
            "dtype": str(array.dtype),
            "shape": list(array.shape),
            "data": array.tolist(),
        }
    return encoded


def decode_tensors(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise PayloadError("'tensors' must be an object")
    tensors: dict[str, Any] = {}
    for name, spec in raw.items():
        if not isinstance(spec, dict) or not {"dtype", "shape", "data"} <= spec.keys():
            raise PayloadError(f"tensor {name!r} needs dtype, shape and data")
        if spec["dtype"] == BYTES:
            tensors[name] = list(spec["data"])
            continue
        try:
            array = np.asarray(spec["data"], dtype=np.dtype(spec["dtype"]))
            tensors[name] = array.reshape(spec["shape"])
        except (TypeError, ValueError) as exc:
            raise PayloadError(f"tensor {name!r}: {exc}") from None
    return tensors


def encode_given(given: Any) -> dict[str, Any]:
    """What a step is fed: the previous step's Value, or the request's inputs as sent."""
    if isinstance(given, Value):
        return {"tensors": encode_tensors(given.tensors)}
    return {"request": given}


def decode_given(raw: Any) -> Any:
    if isinstance(raw, dict) and "request" in raw:
        return raw["request"]
    if isinstance(raw, dict) and "tensors" in raw:
        return Value(decode_tensors(raw["tensors"]))
    raise PayloadError("'given' must hold 'request' or 'tensors'")
