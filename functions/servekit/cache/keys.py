"""Cache keys: model identity plus a canonical encoding of one input row, hashed.

A row's key covers the model name and version (a new version never serves an old version's
answers), the dtype, the row shape and the row's bytes in C order, little-endian, hashed with
BLAKE2b-128: collision-resistant (no two inputs share an answer in practice), and faster than
sha256 in CPython's hashlib. Key spaces are separate prefixes: ``p`` for predictions, ``d``
for input tensors (data cache); a row's stampede lease is its key plus ``:lease``.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["data_key", "lease_key", "row_keys"]

_DIGEST_BYTES = 16


def _model_tag(name: str, version: str) -> str:
    # Names and versions are free text: length-prefix them so "a:b" + "c" != "a" + "b:c".
    # Braces would end the cluster hash tag early; they are replaced (the length stays).
    tag = f"{len(name)}.{name}.{len(version)}.{version}"
    return tag.replace("{", "(").replace("}", ")")


def row_keys(prefix: str, name: str, version: str, tensor: npt.NDArray[Any]) -> list[str]:
    """One key per row of ``tensor`` (rows in order)."""
    rows = np.ascontiguousarray(tensor)
    dtype = rows.dtype.newbyteorder("<")
    rows = rows.astype(dtype, copy=False)
    header = f"{dtype.str}|{'x'.join(map(str, rows.shape[1:]))}|".encode()
    # {hash tag}: one cluster slot per model version, so one MGET/script/pipeline serves a
    # whole request on a cluster-mode cache (ElastiCache Serverless) without CROSSSLOT errors.
    tag = f"{prefix}:p:{{{_model_tag(name, version)}}}:"
    keys = []
    for row in rows:
        digest = hashlib.blake2b(header, digest_size=_DIGEST_BYTES)
        digest.update(row.tobytes())
        keys.append(tag + digest.hexdigest())
    return keys


def data_key(prefix: str, reference: str, dtype: str, shape: tuple[int | str | None, ...]) -> str:
    """The data-cache key of an input reference, preprocessed for one input signature."""
    signature = f"{dtype}|{shape}|{reference}".encode()
    return f"{prefix}:d:" + hashlib.blake2b(signature, digest_size=_DIGEST_BYTES).hexdigest()


def lease_key(key: str) -> str:
    """The key that marks ``key`` as being computed by one caller (stampede control)."""
    return key + ":lease"
