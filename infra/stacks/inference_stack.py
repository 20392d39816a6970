"""The synchronous inference stack: dependencies layer + inference function + HTTP API.

Environment-agnostic on purpose (no account/region, no lookups): ``cdk synth`` runs offline
and without credentials, and one template deploys to any account and region.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, RemovalPolicy, Stack, Tags
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.assets import stage_function_asset
from infra.config import ServekitConfig
from infra.constants import (
    BATCH_PIPELINE_ID,
    DEPENDENCIES_LAYER_ID,
    HTTP_API_ID,
    INFERENCE_FUNCTION_ID,
    OUTPUT_API_URL,
    OUTPUT_FUNCTION_NAME,
    OUTPUT_LAYER_ARN,
    PROJECT_NAME,
    SESSIONS_ID,
    TAG_PROJECT,
    TAG_STAGE,
)
from infra.constructs.batch_pipeline import BatchPipeline
from infra.constructs.dependencies_layer import DependenciesLayer
from infra.constructs.http_api import InferenceHttpApi
from infra.constructs.inference_function import InferenceFunction
from infra.constructs.sessions import SessionsCapability

__all__ = ["InferenceStack"]


class InferenceStack(Stack):
    """``POST /predict`` and friends on one Lambda behind an HTTP API.

    Args:
        config: the parsed ``servekit`` context.
        layer_zip: a prebuilt layer zip; defaults to ``layers.build_layer.build_layer``.
        function_code: the code asset; defaults to the staged ``functions/servekit`` + models.
        **kwargs: ``StackProps`` (description, synthesizer, ...).

    Attributes:
        config, layer, function, api: the config and the three capability constructs.
        code: the code asset every function shares.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: ServekitConfig,
        layer_zip: Path | None = None,
        function_code: lambda_.Code | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault(
            "description",
            f"servekit ({config.stage}): synchronous ONNX inference on Lambda behind an HTTP API",
        )
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        removal = (
            RemovalPolicy.RETAIN if config.removal_policy == "retain" else RemovalPolicy.DESTROY
        )
        inference = config.inference

        self.layer = DependenciesLayer(
            self,
            DEPENDENCIES_LAYER_ID,
            architecture=inference.architecture,
            removal_policy=removal,
            zip_path=layer_zip,
        )
        # One code asset (runtime package + bundled models) shared by every function.
        self.code = function_code or lambda_.Code.from_asset(
            str(stage_function_asset(self.bundled_models(config)))
        )
        self.function = InferenceFunction(
            self,
            INFERENCE_FUNCTION_ID,
            config=inference,
            layers=[self.layer.layer],
            code=self.code,
            removal_policy=removal,
        )
        self.api = InferenceHttpApi(
            self,
            HTTP_API_ID,
            handler=self.function.function,
            config=config.api,
            log_retention_days=inference.log_retention_days,
            removal_policy=removal,
        )

        self.sessions: SessionsCapability | None = None
        if config.sessions.enabled:
            self.sessions = SessionsCapability(
                self,
                SESSIONS_ID,
                config=config.sessions,
                code=self.code,
                layers=[self.layer.layer],
                architecture=inference.architecture,
                log_retention_days=inference.log_retention_days,
                inference_function=self.function.function,
                api=self.api,
                removal_policy=removal,
            )

        self.batch: BatchPipeline | None = None
        if config.batch.enabled:
            self.batch = BatchPipeline(
                self,
                BATCH_PIPELINE_ID,
                config=config.batch,
                inference=inference,
                code=self.code,
                layers=[self.layer.layer],
                api=self.api,
                removal_policy=removal,
            )

        CfnOutput(self, OUTPUT_API_URL, value=self.api.url, description="HTTP API invoke URL")
        CfnOutput(
            self,
            OUTPUT_FUNCTION_NAME,
            value=self.function.function.function_name,
            description="inference Lambda function name",
        )
        CfnOutput(
            self,
            OUTPUT_LAYER_ARN,
            value=self.layer.layer.layer_version_arn,
            description="dependencies layer version ARN",
        )

        Tags.of(self).add(TAG_PROJECT, PROJECT_NAME)
        Tags.of(self).add(TAG_STAGE, config.stage)

    @staticmethod
    def bundled_models(config: ServekitConfig) -> list[str]:
        """The models the code asset carries: every model some enabled function serves."""
        sessions = [config.sessions.model] if config.sessions.enabled else []
        return list(dict.fromkeys([*config.inference.models, *sessions]))
