"""The CDK app: ``cdk.json`` runs ``python -m infra.app``; tests call :func:`build_app`.

Under the CDK CLI the context (``cdk.json`` + ``-c`` flags) arrives through the environment and
``App()`` reads it. Run directly (``python -m infra.app``) or from a test, there is no CLI to
pass it, so ``cdk.json``'s context is read from the file instead: the same config either way.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aws_cdk as cdk

from infra.config import ServekitConfig, load_cdk_json_context, parse_config
from infra.constants import CONTEXT_KEY, STAGE_CONTEXT_KEY, inference_stack_name
from infra.nag import acknowledge_inference_findings, add_nag_checks
from infra.stacks.inference_stack import InferenceStack

__all__ = ["add_inference_stack", "build_app", "config_from_app", "main"]

# Set by the CDK CLI when it runs the app (cx-api CONTEXT_ENV, CONTEXT_OVERFLOW_LOCATION_ENV
# for a context too large for the environment, OUTDIR_ENV).
_CLI_ENV_VARS = ("CDK_CONTEXT_JSON", "CONTEXT_OVERFLOW_LOCATION_ENV", "CDK_OUTDIR")


def config_from_app(app: cdk.App) -> ServekitConfig:
    """Parse the ``servekit`` context of ``app`` (``-c stage=...`` overrides its stage)."""
    stage = app.node.try_get_context(STAGE_CONTEXT_KEY)
    return parse_config(
        app.node.try_get_context(CONTEXT_KEY),
        stage_override=None if stage is None else str(stage),
    )


def build_app(
    context: Mapping[str, Any] | None = None,
    outdir: str | None = None,
    *,
    layer_zip: Path | None = None,
) -> cdk.App:
    """Create the app with its stacks and cdk-nag checks (call ``.synth()`` to synthesize).

    Args:
        context: the full CDK context (``cdk.json``'s ``context`` object, possibly modified).
            ``None`` means: what the CDK CLI passed, else ``cdk.json``'s context.
        outdir: the cloud assembly directory (the CLI's choice when run by it).
        layer_zip: a prebuilt layer zip instead of ``layers.build_layer`` (tests, tools).
    """
    if context is None and not any(name in os.environ for name in _CLI_ENV_VARS):
        context = load_cdk_json_context()
    app = cdk.App(context=dict(context) if context is not None else None, outdir=outdir)
    add_inference_stack(app, config_from_app(app), layer_zip=layer_zip)
    add_nag_checks(app)
    return app


def add_inference_stack(
    app: cdk.App, config: ServekitConfig, *, layer_zip: Path | None = None
) -> InferenceStack:
    """Add the stage's inference stack with its acknowledged cdk-nag findings."""
    stack = InferenceStack(
        app, inference_stack_name(config.stage), config=config, layer_zip=layer_zip
    )
    acknowledge_inference_findings(stack)
    return stack


def main() -> None:
    """Entry point of ``cdk.json``'s ``app`` command."""
    build_app().synth()  # App() reads the CLI's output directory (CDK_OUTDIR) itself


if __name__ == "__main__":
    main()
