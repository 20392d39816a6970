"""The artifacts bucket: ``model.onnx`` files keyed by their sha256, written once.

The key holds the content's hash (``models/<name>/sha256/<sha256>/model.onnx``), so an object
is never replaced by other bytes: pushing bytes already there writes nothing, and a version
record names exactly the bytes it was checked with. The manifest lives in the version's table
item (one model file may be pushed under several versions).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from servekit.constants import MODEL_FILENAME
from servekit.registry.shapes import artifact_key

__all__ = ["ArtifactBucket"]

_CHUNK = 1 << 20


class ArtifactBucket:
    def __init__(self, s3_client: Any, bucket: str) -> None:
        self.s3 = s3_client
        self.bucket = bucket

    def upload(self, name: str, sha256: str, model_file: Path) -> str:
        """Put ``model_file`` (whose sha256 the caller computed) under its content key, unless
        an object is there already; returns the key."""
        key = artifact_key(name, sha256, MODEL_FILENAME)
        if not self.exists(key):
            with model_file.open("rb") as body:
                self.s3.put_object(
                    Bucket=self.bucket,
                    Key=key,
                    Body=body,
                    ChecksumAlgorithm="SHA256",  # S3 verifies the bytes it received
                    Metadata={"sha256": sha256},
                )
        return key

    def exists(self, key: str) -> bool:
        try:
            self.s3.head_object(Bucket=self.bucket, Key=key)
        except self.s3.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def download(self, name: str, sha256: str, folder: Path) -> str:
        """Write the artifact to ``folder/model.onnx`` (via a temporary name, so a folder
        never holds half a model) and return the sha256 of the bytes received."""
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / MODEL_FILENAME
        partial = folder / f".{MODEL_FILENAME}.{os.getpid()}.part"
        digest = hashlib.sha256()
        body = self.s3.get_object(
            Bucket=self.bucket, Key=artifact_key(name, sha256, MODEL_FILENAME)
        )
        with partial.open("wb") as out:
            for chunk in body["Body"].iter_chunks(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
        os.replace(partial, target)
        return digest.hexdigest()
