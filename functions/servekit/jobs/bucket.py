"""Job results: small ones inline in the jobs table, large ones as objects in S3.

A DynamoDB item holds at most 400 KB and a Lambda response at most 6 MB, so a result over
``inline_result_bytes`` is written to ``s3://<bucket>/results/<job_id>.json`` and the record
keeps the key; ``GET /jobs/{id}`` then answers a presigned URL instead of the body.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from servekit.jobs.shapes import RESULTS_PREFIX

__all__ = ["ResultBucket", "StoredResult"]

_URL_EXPIRY_S = 3600


@dataclass(frozen=True, slots=True)
class StoredResult:
    inline: str | None
    s3_key: str | None


class ResultBucket:
    def __init__(self, s3_client: Any, bucket: str, inline_limit: int) -> None:
        self.s3 = s3_client
        self.bucket = bucket
        self.inline_limit = inline_limit

    def store(self, job_id: str, result: bytes) -> StoredResult:
        """Keep ``result`` (JSON bytes) inline if small, else put it in S3 first."""
        if len(result) <= self.inline_limit:
            return StoredResult(inline=result.decode(), s3_key=None)
        key = f"{RESULTS_PREFIX}{job_id}.json"
        # Same key and bytes on a redelivery: overwriting is harmless, so no condition here.
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=result, ContentType="application/json")
        return StoredResult(inline=None, s3_key=key)

    def url(self, key: str) -> str:
        """A presigned GET URL for a stored result (valid one hour)."""
        url: str = self.s3.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=_URL_EXPIRY_S
        )
        return url

    def read(self, key: str) -> bytes:
        body: bytes = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return body
