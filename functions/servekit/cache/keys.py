"""Cache keys: model identity plus a canonical encoding of one input row, hashed.

A row's key covers the model name and version (a new version never serves an old version's
answers), the dtype, the row shape and the row's bytes in C order, little-endian, hashed with
BLAKE2b-128: collision-resistant (no two inputs share an answer in practice), and faster than
sha256 in CPython's hashlib. A row of a model with named inputs covers every input, in the
manifest's order, each as its name, dtype, row shape and bytes (strings length-prefixed, so
``["ab", "c"]`` and ``["a", "bc"]`` differ). Key spaces are separate prefixes: ``p`` for a row
classifier's probabilities, ``o`` for a row of every output, ``d`` for input tensors (data
cache); a row's stampede lease is its key plus ``:lease``.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["data_key", "input_keys", "lease_key", "row_keys"]

_DIGEST_BYTES = 16


@functools.lru_cache(maxsize=256)
def _key_tag(prefix: str, space: str, name: str, version: str) -> str:
    """A key's fixed start, built once per model version (it is on every request's path).

    Names and versions are free text: length-prefixed so "a:b" + "c" != "a" + "b:c". Braces
    would end the cluster hash tag early; they are replaced (the length stays). The {hash tag}
    puts a model version in one cluster slot, so one MGET/script/pipeline serves a whole
    request on a cluster-mode cache (ElastiCache Serverless) without CROSSSLOT errors.
    """
    tag = f"{len(name)}.{name}.{len(version)}.{version}".replace("{", "(").replace("}", ")")
    return f"{prefix}:{space}:{{{tag}}}:"


def row_keys(prefix: str, name: str, version: str, tensor: npt.NDArray[Any]) -> list[str]:
    """One key per row of ``tensor`` (rows in order)."""
    if tensor.dtype.byteorder == ">":  # keys hash little-endian bytes, whatever the host
        tensor = tensor.astype(tensor.dtype.newbyteorder("<"))
    tag, start = _row_start(prefix, name, version, tensor.dtype.str, tensor.shape[1:])
    data = tensor.tobytes()  # C order, one copy of the whole tensor, sliced per row
    size = len(data) // len(tensor) if len(tensor) else 0
    keys = []
    for index in range(len(tensor)):
        digest = start.copy()
        digest.update(data[index * size : (index + 1) * size])
        keys.append(tag + digest.hexdigest())
    return keys


@functools.lru_cache(maxsize=256)
def _row_start(
    prefix: str, name: str, version: str, dtype: str, row_shape: tuple[int, ...]
) -> tuple[str, Any]:
    """A row key's tag and its hash of the dtype and row shape, once per model and signature."""
    header = f"{dtype}|{'x'.join(map(str, row_shape))}|".encode()
    return _key_tag(prefix, "p", name, version), hashlib.blake2b(header, digest_size=_DIGEST_BYTES)


def input_keys(
    prefix: str,
    name: str,
    version: str,
    names: Sequence[str],
    feeds: Mapping[str, npt.NDArray[Any]],
) -> list[str]:
    """One key per row over every input of ``feeds``, taken in the order of ``names``.

    Hashed: every input's name (length-prefixed), dtype and row shape, then each input's row
    bytes in the same order. Numeric rows have the length their dtype and shape state, and
    every string is length-prefixed, so no two different rows encode alike.
    """
    count = len(feeds[names[0]])
    if not count:
        return []
    headers = []
    columns: list[list[bytes]] = []  # per input, each row's bytes
    for input_name in names:
        tensor = feeds[input_name]
        text = tensor.dtype.kind in "OUS"
        dtype = "string" if text else tensor.dtype.newbyteorder("<").str
        shape = "x".join(map(str, tensor.shape[1:]))
        headers.append(f"{len(input_name)}.{input_name}|{dtype}|{shape}|".encode())
        if text:
            columns.append([_text_row(row) for row in tensor])
        else:  # one copy of the whole tensor, sliced per row
            data = np.ascontiguousarray(tensor, dtype=dtype).tobytes()
            size = len(data) // count
            columns.append([data[i * size : (i + 1) * size] for i in range(count)])
    start = hashlib.blake2b(b"".join(headers), digest_size=_DIGEST_BYTES)
    tag = _key_tag(prefix, "o", name, version)
    keys = []
    for index in range(count):
        digest = start.copy()
        for column in columns:
            digest.update(column[index])
        keys.append(tag + digest.hexdigest())
    return keys


def _text_row(row: Any) -> bytes:
    encoded = [str(item).encode() for item in np.ravel(row)]
    return b"".join(len(item).to_bytes(8, "little") + item for item in encoded)


def data_key(prefix: str, reference: str, dtype: str, shape: tuple[int | str | None, ...]) -> str:
    """The data-cache key of an input reference, preprocessed for one input signature."""
    signature = f"{dtype}|{shape}|{reference}".encode()
    return f"{prefix}:d:" + hashlib.blake2b(signature, digest_size=_DIGEST_BYTES).hexdigest()


def lease_key(key: str) -> str:
    """The key that marks ``key`` as being computed by one caller (stampede control)."""
    return key + ":lease"
