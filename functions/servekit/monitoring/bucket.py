"""The capture bucket's objects: capture files, joined feedback and drift reports.

Layout in :mod:`servekit.monitoring.shapes`. Capture lines are JSON objects::

    {"prediction_id": "...", "at": "2026-11-30T14:05:09+00:00", "model": "digits-mlp",
     "version": "1.0.0", "inputs": {"input": [[0.0, ...], ...]}, "predictions": [...]}
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import groupby
from typing import Any

import orjson

from servekit.monitoring import shapes
from servekit.monitoring.capture import Captured
from servekit.monitoring.store import PredictionStore
from servekit.transports.codec import encode

__all__ = ["CaptureBucket", "CaptureFiles"]


def capture_line(c: Captured) -> bytes:
    """One capture line; numpy arrays and scalars serialized natively (orjson)."""
    return encode(
        {
            "prediction_id": c.prediction_id,
            "at": c.at.isoformat(),
            "model": c.model,
            "version": c.version,
            "inputs": dict(c.inputs),
            "predictions": c.predictions,
        }
    )


class CaptureBucket:
    def __init__(self, s3: Any, bucket: str) -> None:
        self.s3 = s3
        self.bucket = bucket

    def put_json(self, key: str, document: Any, content_type: str = "application/json") -> None:
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)

    def write_captures(self, batch: list[Captured]) -> None:
        """One JSONL object per (model, version, hour) of ``batch``."""

        def partition(c: Captured) -> str:
            return shapes.hour_prefix(shapes.CAPTURE_PREFIX, c.model, c.version, c.at)

        for prefix, group in groupby(sorted(batch, key=partition), key=partition):
            lines = [capture_line(c) for c in group]
            key = f"{prefix}{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(6)}.jsonl"
            self.put_json(key, b"\n".join(lines) + b"\n", "application/x-ndjson")

    def versions(self, model: str) -> list[str]:
        prefix = shapes.model_prefix(shapes.CAPTURE_PREFIX, model)
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix, Delimiter="/"
        )
        found = [p["Prefix"] for page in pages for p in page.get("CommonPrefixes", [])]
        return [entry[len(prefix) + len("version=") : -1] for entry in found]

    def read(
        self, kind: str, model: str, version: str, start: datetime, end: datetime
    ) -> Iterator[dict[str, Any]]:
        """Every JSON line under ``kind`` for the hours from ``start`` to ``end`` (UTC)."""
        hour = start.replace(minute=0, second=0, microsecond=0)
        while hour <= end:
            prefix = shapes.hour_prefix(kind, model, version, hour)
            pages = self.s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix
            )
            for page in pages:
                for entry in page.get("Contents", []):
                    body = self.s3.get_object(Bucket=self.bucket, Key=entry["Key"])["Body"].read()
                    for line in body.splitlines():
                        if line.strip():
                            record = orjson.loads(line)
                            if start <= datetime.fromisoformat(record["at"]) <= end:
                                yield record
            hour += timedelta(hours=1)


class CaptureFiles:
    """The capture's writer: the files in S3, then the prediction ids for feedback."""

    def __init__(self, bucket: CaptureBucket, store: PredictionStore | None) -> None:
        self.bucket = bucket
        self.store = store

    def write(self, batch: list[Captured]) -> None:
        self.bucket.write_captures(batch)
        if self.store is not None:
            self.store.put(batch)
