"""The protocol's names: datatypes and their manifest dtypes, headers, shapes, parameters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np

from servekit.runtime.manifest import Dim, TensorSpec

__all__ = [
    "BINARY_DATA",
    "BINARY_DATA_OUTPUT",
    "BINARY_DATA_SIZE",
    "BINARY_MEDIA_TYPE",
    "DATATYPES",
    "DTYPES",
    "EXTENSIONS",
    "HEADER_LENGTH",
    "PLATFORM",
    "SERVER_NAME",
    "ZIPMAP_DATATYPE",
    "numpy_dtype",
    "v2_datatype",
    "v2_shape",
]

SERVER_NAME: Final = "servekit"
PLATFORM: Final = "onnxruntime_onnx"
EXTENSIONS: Final = ("binary_tensor_data",)
HEADER_LENGTH: Final = "inference-header-content-length"
"""The binary extension's request and response header (lower case, as transports hand it)."""
BINARY_MEDIA_TYPE: Final = "application/octet-stream"
BINARY_DATA_SIZE: Final = "binary_data_size"
BINARY_DATA: Final = "binary_data"
BINARY_DATA_OUTPUT: Final = "binary_data_output"

DATATYPES: Final = {
    "bool": "BOOL",
    "uint8": "UINT8",
    "int8": "INT8",
    "int16": "INT16",
    "int32": "INT32",
    "int64": "INT64",
    "float16": "FP16",
    "float32": "FP32",
    "float64": "FP64",
    "string": "BYTES",
}
"""Manifest dtype → V2 datatype."""
DTYPES: Final = {
    **{datatype: dtype for dtype, datatype in DATATYPES.items()},
    "UINT16": "uint16",
    "UINT32": "uint32",
    "UINT64": "uint64",
}
"""Every V2 datatype this server reads (the protocol's, less BF16) → its numpy dtype name.
UINT16..UINT64 are readable so a model that does not take them hears so by name."""
ZIPMAP_DATATYPE: Final = "FP32"
"""A ZipMap output (one {label: probability} map per row) has no V2 tensor form: it is
answered as an FP32 [batch, labels] tensor in label order."""


def v2_datatype(spec: TensorSpec) -> str:
    return ZIPMAP_DATATYPE if spec.is_zipmap else DATATYPES[spec.dtype]


def numpy_dtype(datatype: str) -> np.dtype[np.generic]:
    """The little-endian numpy dtype of a fixed-size datatype (raw binary data)."""
    return np.dtype(DTYPES[datatype]).newbyteorder("<")


def v2_shape(spec: TensorSpec, labels: Sequence[str] = ()) -> list[int]:
    """The declared shape with -1 for each free (or named) dimension; a ZipMap output's
    [batch, labels] (-1 where its labels are only known at run time)."""
    if spec.is_zipmap:
        return [-1, len(labels) or -1]
    return [_dim(d) for d in spec.shape]


def _dim(dim: Dim) -> int:
    return dim if isinstance(dim, int) else -1
