"""The batch bucket in S3: input streams, chunk arrays, part files and the output index.

A thin layer over an S3 client (boto3, created by the caller) so the splitter, the worker and
the service say what they store, not how.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from servekit.batch.errors import BatchInputError

__all__ = ["READ_CHUNK_BYTES", "BatchBucket", "parse_s3_uri"]

READ_CHUNK_BYTES: Final = 1 << 20  # a streamed input is read 1 MiB at a time
_MISSING: Final = frozenset({"404", "NoSuchKey", "NotFound"})


def parse_s3_uri(uri: Any) -> tuple[str, str]:
    """``s3://bucket/key`` → ``(bucket, key)``; anything else is a 422 naming the problem."""
    if not isinstance(uri, str) or not uri.startswith("s3://"):
        raise BatchInputError(
            "invalid_input_uri", f"'input' must be an s3://bucket/key URI, got {uri!r}"
        )
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not bucket or not key or key.endswith("/"):
        raise BatchInputError(
            "invalid_input_uri", f"'input' must name one object, s3://bucket/key, got {uri!r}"
        )
    return bucket, key


class BatchBucket:
    def __init__(self, s3: Any, name: str) -> None:
        self.s3 = s3
        self.name = name

    def uri(self, key: str) -> str:
        return f"s3://{self.name}/{key}"

    def size(self, key: str) -> int | None:
        """The object's size in bytes, or ``None`` when there is no such object."""
        try:
            head = self.s3.head_object(Bucket=self.name, Key=key)
        except self.s3.exceptions.ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in _MISSING:
                return None
            raise
        return int(head["ContentLength"])

    def etag(self, key: str) -> str:
        """The object's ETag (it changes when the object is replaced)."""
        etag: str = self.s3.head_object(Bucket=self.name, Key=key)["ETag"]
        return etag

    def stream(self, key: str) -> Iterator[bytes]:
        """The object's bytes, 1 MiB at a time; a missing object is a :class:`BatchInputError`."""
        try:
            body = self.s3.get_object(Bucket=self.name, Key=key)["Body"]
        except self.s3.exceptions.NoSuchKey:
            raise BatchInputError("input_not_found", f"no object {self.uri(key)}") from None
        try:
            yield from body.iter_chunks(READ_CHUNK_BYTES)
        finally:
            body.close()

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        self.s3.put_object(Bucket=self.name, Key=key, Body=data, ContentType=content_type)

    def get(self, key: str) -> bytes | None:
        try:
            data: bytes = self.s3.get_object(Bucket=self.name, Key=key)["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None
        return data

    def put_array(self, key: str, array: npt.NDArray[Any]) -> None:
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        self.put(key, buffer.getvalue())

    def get_array(self, key: str) -> npt.NDArray[Any] | None:
        data = self.get(key)
        if data is None:
            return None
        array: npt.NDArray[Any] = np.load(io.BytesIO(data), allow_pickle=False)
        return array

    def put_feeds(self, key: str, feeds: Mapping[str, npt.NDArray[Any]]) -> None:
        """One input's rows as a ``.npy`` array (``put_array``), several as an ``.npz``
        archive by input name; strings as fixed-width unicode, so nothing is pickled."""
        arrays = {name: a.astype(np.str_) if a.dtype == object else a for name, a in feeds.items()}
        if len(arrays) == 1:
            self.put_array(key, next(iter(arrays.values())))
            return
        buffer = io.BytesIO()
        np.savez(buffer, allow_pickle=False, **arrays)
        self.put(key, buffer.getvalue())

    def get_feeds(self, key: str, names: Sequence[str]) -> dict[str, npt.NDArray[Any]] | None:
        """What ``put_feeds`` stored for inputs ``names``; strings back as onnxruntime takes
        them (objects)."""
        data = self.get(key)
        if data is None:
            return None
        loaded = np.load(io.BytesIO(data), allow_pickle=False)
        if isinstance(loaded, np.ndarray):
            arrays = {names[0]: loaded}
        else:
            with loaded:
                arrays = {name: loaded[name] for name in loaded.files}
        return {n: a.astype(object) if a.dtype.kind == "U" else a for n, a in arrays.items()}

    def keys(self, prefix: str) -> list[str]:
        keys: list[str] = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.name, Prefix=prefix
        ):
            keys += [item["Key"] for item in page.get("Contents", [])]
        return keys

    def delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):
            objects = [{"Key": key} for key in keys[start : start + 1000]]
            self.s3.delete_objects(Bucket=self.name, Delete={"Objects": objects, "Quiet": True})
