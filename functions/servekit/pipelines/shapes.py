"""Names shared with infra and the local server."""

from __future__ import annotations

__all__ = ["CONFIG_KEY", "ENV_PIPELINES_SPEC", "PIPELINE_NAME_PATTERN", "SPEC_FILENAME"]

ENV_PIPELINES_SPEC = "SERVEKIT_PIPELINES_SPEC"
"""The spec file the inference function serves (bundled with it); unset: no pipelines."""
CONFIG_KEY = "servekit:pipelines"
"""The cdk.json context key naming the spec file (relative to the project root)."""
SPEC_FILENAME = "pipelines.json"
PIPELINE_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
