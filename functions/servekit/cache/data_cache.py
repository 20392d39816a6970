"""Data cache: inputs given by reference (``"inputs_ref": "s3://bucket/key"``).

The object holds what ``inputs`` would (a JSON row, list of rows, or ``{"inputs": ...}``). It
is fetched from S3, parsed and validated into the model's input tensor once; the tensor is
cached under its own key space (``<prefix>:d:``, keyed by the reference and the model's input
signature), so repeated references skip both the fetch and the preprocessing. References are
treated as immutable for ``SERVEKIT_CACHE_DATA_TTL_S``: write new data under a new key.
boto3 is imported on the first reference only; the /predict cold start never pays for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import orjson

from servekit.cache.settings import CacheSettings
from servekit.errors import ApiError
from servekit.runtime.manifest import TensorSpec
from servekit.runtime.validation import to_tensor

if TYPE_CHECKING:
    from servekit.cache.failopen import FailOpenCache

__all__ = ["Fetch", "InputLoader", "parse_s3_uri", "s3_fetch"]

Fetch = Callable[[str, str, int], bytes]


def parse_s3_uri(reference: str) -> tuple[str, str]:
    bucket, _, key = reference.removeprefix("s3://").partition("/")
    if not reference.startswith("s3://") or not bucket or not key:
        raise ApiError(
            422,
            "invalid_reference",
            f"inputs_ref must look like s3://bucket/key, got {reference!r}",
        )
    return bucket, key


def s3_fetch(bucket: str, key: str, max_bytes: int) -> bytes:
    """GET one object (boto3 imported on first use), refusing objects over ``max_bytes``."""
    client = _s3_client()
    try:
        response = client.get_object(Bucket=bucket, Key=key)
    except client.exceptions.NoSuchKey:
        raise ApiError(404, "reference_not_found", f"no object s3://{bucket}/{key}") from None
    except Exception as exc:  # botocore ClientError, endpoint errors: not the client's fault
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
        raise ApiError(
            502, "reference_unavailable", f"cannot read s3://{bucket}/{key} ({code})"
        ) from None
    if int(response.get("ContentLength", 0)) > max_bytes:
        raise ApiError(413, "reference_too_large", f"s3://{bucket}/{key} is over {max_bytes} bytes")
    data: bytes = response["Body"].read()
    return data


_clients: dict[str, Any] = {}


def _s3_client() -> Any:
    if "s3" not in _clients:
        import boto3

        _clients["s3"] = boto3.client("s3")
    return _clients["s3"]


class InputLoader:
    """Loads a request's input tensor from a reference, through the data cache."""

    def __init__(
        self, settings: CacheSettings, cache: FailOpenCache | None, fetch: Fetch = s3_fetch
    ) -> None:
        self.settings = settings
        self.cache = cache
        self.fetch = fetch
        self._miss_ms = 0.0  # moving average of fetch + preprocessing time (latency saved)

    def load(
        self, reference: str, spec: TensorSpec, max_rows: int, max_bytes: int
    ) -> npt.NDArray[Any]:
        started = time.perf_counter()
        bucket, key = parse_s3_uri(reference)
        if bucket not in self.settings.input_buckets:
            raise ApiError(
                403,
                "reference_not_allowed",
                f"bucket {bucket!r} is not one this function reads inputs from "
                "(SERVEKIT_CACHE_INPUT_BUCKETS)",
            )
        from servekit.cache.keys import data_key  # not on a cold start without a cache

        cache_key = data_key(self.settings.key_prefix, reference, spec.dtype, spec.shape)
        row_shape = tuple(d for d in spec.shape[1:] if isinstance(d, int))
        found = self.cache.get_many([cache_key]) if self.cache else None
        if found and found[0] is not None:
            tensor = _decode(found[0], spec.dtype, row_shape)
            if tensor is not None and len(tensor) <= max_rows:
                self._record(hit=True)
                return tensor
        raw = self.fetch(bucket, key, max_bytes)
        try:
            document = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ApiError(
                422, "invalid_reference_content", f"{reference} is not valid JSON: {exc}"
            ) from None
        if isinstance(document, dict) and "inputs" in document:
            document = document["inputs"]
        tensor = to_tensor(document, spec, max_rows)  # InvalidInputError: the caller's 422
        if self.cache is not None:
            value = np.ascontiguousarray(tensor).tobytes()
            if len(value) <= self.settings.max_value_bytes:
                self.cache.set_many([(cache_key, value)], self.settings.data_ttl_s * 1000)
            else:
                self.cache.metrics.too_large(1)
        elapsed = (time.perf_counter() - started) * 1000
        self._miss_ms = elapsed if not self._miss_ms else 0.8 * self._miss_ms + 0.2 * elapsed
        self._record(hit=False)
        return tensor

    def _record(self, *, hit: bool) -> None:
        if self.cache is not None:
            saved = self._miss_ms if hit else 0.0
            self.cache.metrics.lookup("Data", hits=int(hit), misses=int(not hit), saved_ms=saved)


def _decode(value: bytes, dtype: str, row_shape: tuple[int, ...]) -> npt.NDArray[Any] | None:
    item = np.dtype(dtype)
    per_row = item.itemsize * int(np.prod(row_shape, dtype=np.int64))
    if not value or per_row == 0 or len(value) % per_row:
        return None
    return np.frombuffer(value, dtype=item).reshape((-1, *row_shape))
