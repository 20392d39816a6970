"""The Lambda layer holding the function's third-party dependencies (onnxruntime, numpy, ...).

The zip comes from ``layers/build_layer.py``: pip with ``--platform``/``--only-binary`` for the
Lambda platform, no Docker, cached between runs. The builder is imported lazily, when the
construct is created, so importing ``infra`` stays cheap and a test can pass a zip of its own
through ``zip_path``.

Why a layer rather than the function asset: the dependencies change rarely and weigh ~150 MB
unzipped, the code changes often and weighs kilobytes. Separate assets let a code change
redeploy without re-uploading the heavy part.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from aws_cdk import RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

__all__ = ["RUNTIME", "DependenciesLayer", "build_dependencies_zip", "lambda_architecture"]

# Pinned, not "latest": onnxruntime wheels need glibc >= 2.28 (Amazon Linux 2023 runtimes)
# and the layer's compiled wheels are cp312. Moving runtimes means rebuilding the layer.
RUNTIME = lambda_.Runtime.PYTHON_3_12

Architecture = Literal["arm64", "x86_64"]


def lambda_architecture(architecture: Architecture) -> lambda_.Architecture:
    """The CDK architecture for a config value."""
    return lambda_.Architecture.ARM_64 if architecture == "arm64" else lambda_.Architecture.X86_64


def build_dependencies_zip(architecture: Architecture) -> Path:
    """Build (or reuse the cached) layer zip with ``layers.build_layer``."""
    # Imported here, not at module level: only a synth that builds the layer needs pip & co.
    from layers.builder import build_layer

    zip_path = Path(build_layer(arch=architecture))
    if not zip_path.is_file():
        raise FileNotFoundError(f"layers.build_layer returned {zip_path}, which is not a file")
    return zip_path


class DependenciesLayer(Construct):
    """A ``LayerVersion`` for one architecture and the pinned Python runtime.

    Attributes:
        layer: the created ``aws_lambda.LayerVersion``.
        zip_path: the zip it was made from.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        architecture: Architecture,
        removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
        zip_path: Path | None = None,
        description: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.zip_path = zip_path if zip_path is not None else build_dependencies_zip(architecture)
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            code=lambda_.Code.from_asset(str(self.zip_path)),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[lambda_architecture(architecture)],
            description=description
            or f"servekit runtime dependencies (onnxruntime, numpy, ...) for {architecture}",
            removal_policy=removal_policy,
        )
