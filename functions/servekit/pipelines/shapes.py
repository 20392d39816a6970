"""Names shared with infra and the local server."""

from __future__ import annotations

__all__ = [
    "CONFIG_KEY",
    "ENV_PIPELINES_SPEC",
    "ENV_PIPELINE_STEP",
    "ENV_PIPELINE_STEP_FUNCTIONS",
    "PIPELINE_NAME_PATTERN",
    "SPEC_FILENAME",
    "STEP_HANDLER",
]

ENV_PIPELINES_SPEC = "SERVEKIT_PIPELINES_SPEC"
"""The spec file the inference function serves (bundled with it); unset: no pipelines."""
CONFIG_KEY = "servekit:pipelines"
"""The cdk.json context key naming the spec file (relative to the project root)."""
SPEC_FILENAME = "pipelines.json"
PIPELINE_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
ENV_PIPELINE_STEP_FUNCTIONS = "SERVEKIT_PIPELINE_STEP_FUNCTIONS"
"""JSON ``{"pipeline/step": function name}`` of the function-placed steps' Lambdas (set by the
pipelines' constructs); unset, such steps run through the local invoker, in process."""
ENV_PIPELINE_STEP = "SERVEKIT_PIPELINE_STEP"
"""The step (``pipeline/step``) a step Lambda runs."""
STEP_HANDLER = "servekit.handlers.pipeline_step.handler"
