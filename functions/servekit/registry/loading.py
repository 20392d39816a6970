"""A registry version made servable: downloaded, checksum-checked, loaded and smoke-run.

Any failure refuses the version (:class:`ArtifactRefusedError` naming the step): the caller
keeps serving what it serves. The artifact is kept in the cache folder under its sha256, so
a second load of the same bytes (a rollback, a warm sandbox) downloads nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from servekit.constants import MANIFEST_FILENAME, MODEL_FILENAME
from servekit.registry.bucket import ArtifactBucket
from servekit.registry.errors import ArtifactRefusedError
from servekit.registry.records import VersionRecord
from servekit.runtime.errors import ModelLoadError, ModelRunError
from servekit.runtime.loader import load_model, sha256_file
from servekit.runtime.manifest import Manifest
from servekit.runtime.model import LoadedModel

__all__ = ["load_version", "smoke_feeds"]


def load_version(
    record: VersionRecord, bucket: ArtifactBucket, cache_dir: Path, threads: int
) -> LoadedModel:
    """``record``'s model, ready to serve, or :class:`ArtifactRefusedError`."""
    name, version = record.name, record.version
    folder = cache_dir / name / record.sha256
    model_file = folder / MODEL_FILENAME
    try:
        if model_file.is_file() and sha256_file(model_file) == record.sha256:
            received = record.sha256
        else:
            received = bucket.download(name, record.sha256, folder)
    except Exception as exc:  # botocore's errors, a full /tmp: nothing to serve from
        raise ArtifactRefusedError(name, version, "download", str(exc)[:300]) from None
    if received != record.sha256:
        raise ArtifactRefusedError(
            name,
            version,
            "checksum",
            f"the artifact's sha256 is {received[:12]}…, the registry says {record.sha256[:12]}…",
        )
    manifest = record.manifest
    if (manifest.get("name"), manifest.get("version")) != (name, version):
        raise ArtifactRefusedError(name, version, "load", "its manifest names another model")
    (folder / MANIFEST_FILENAME).write_text(json.dumps(manifest))
    try:
        model = load_model(folder, threads)  # checks the file against the manifest's sha256
    except ModelLoadError as exc:
        reason = "checksum" if "checksum" in str(exc) else "load"
        raise ArtifactRefusedError(name, version, reason, str(exc)) from None
    try:
        model.run(smoke_feeds(model.manifest))
    except ModelRunError as exc:
        raise ArtifactRefusedError(name, version, "smoke", exc.reason) from None
    return model


def smoke_feeds(manifest: Manifest) -> dict[str, npt.NDArray[Any]]:
    """One row of zeros (false, "") per input, free dimensions given length 1: enough to run
    the graph once before it serves a request, and to warm its session."""
    feeds: dict[str, npt.NDArray[Any]] = {}
    for spec in manifest.inputs:
        shape = tuple(dim if isinstance(dim, int) else 1 for dim in spec.shape)
        if spec.dtype == "string":
            feeds[spec.name] = np.full(shape, "", dtype=object)
        else:
            feeds[spec.name] = np.zeros(shape, dtype=np.dtype(spec.dtype))
    return feeds
