"""One pipeline's own resources: a Lambda per ``function``-placed step, each with its own
memory, reserved concurrency, layer of dependencies (on top of the dependencies layer) and
alarms (errors, throttles). Least privilege: :meth:`PipelineSteps.grant_invoke` lets a router
role invoke these functions and nothing else.

A step's layer is built by the project's layer build (``layers.builder.build_layer``) from the
step's pinned ``lambda.requirements``, cached under ``layers/build/steps/<file stem>/``, apart
from the dependencies layer's cache so neither prunes the other.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.config.pipelines import step_requirements
from infra.constructs.dependencies_layer import RUNTIME, Architecture, lambda_architecture
from infra.constructs.servekit_function import ServekitFunction
from servekit.pipelines.nodes import Pipeline, steps
from servekit.pipelines.shapes import ENV_PIPELINE_STEP, STEP_HANDLER

__all__ = ["PipelineSteps", "build_step_layer_zip", "pascal_case", "step_functions_environment"]

LayerZip = Callable[[Path, Architecture], Path]


def build_step_layer_zip(requirements: Path, architecture: Architecture) -> Path:
    """Build (or reuse) a step's layer with the project's layer build."""
    from layers.builder import build_layer
    from layers.config import DEFAULT_BUILD_ROOT

    root = DEFAULT_BUILD_ROOT / "steps" / requirements.stem
    return Path(build_layer(arch=architecture, requirements=requirements, build_root=root))


def pascal_case(step: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", step) if part)


class PipelineSteps(Construct):
    """Attributes: ``functions`` (step id -> its ``aws_lambda.Function``), ``layers`` (step id
    -> its own layer, when it has requirements), ``alarms`` (step id -> [errors, throttles])."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        pipeline: Pipeline,
        code: lambda_.Code,
        dependencies: lambda_.ILayerVersion,
        architecture: Architecture,
        environment: Mapping[str, str],
        log_retention_days: int,
        removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
        layer_zip: LayerZip = build_step_layer_zip,
    ) -> None:
        super().__init__(scope, construct_id)
        self.functions: dict[str, lambda_.Function] = {}
        self.layers: dict[str, lambda_.LayerVersion] = {}
        self.alarms: dict[str, list[cloudwatch.Alarm]] = {}
        prefix = f"{pipeline.name}/"
        own = [
            s
            for s in steps(pipeline.root)
            if s.placement and s.placement.step_id.startswith(prefix)
        ]
        for node in own:  # a step inlined from another pipeline by ref is that pipeline's
            placement = node.placement
            assert placement is not None
            step, cid = placement.step_id, pascal_case(node.name)
            if step in self.functions:
                continue
            layers: list[lambda_.ILayerVersion] = [dependencies]
            if placement.requirements is not None:
                requirements = step_requirements(placement.requirements, f"step {step!r}")
                self.layers[step] = lambda_.LayerVersion(
                    self,
                    f"{cid}Layer",
                    code=lambda_.Code.from_asset(str(layer_zip(requirements, architecture))),
                    compatible_runtimes=[RUNTIME],
                    compatible_architectures=[lambda_architecture(architecture)],
                    description=f"servekit pipeline step {step}: {placement.requirements}",
                    removal_policy=removal_policy,
                )
                layers.append(self.layers[step])
            function = ServekitFunction(
                self,
                cid,
                purpose=f"pipeline step {step}",
                description=f"servekit pipeline step {step} (invoked by the router)",
                handler=STEP_HANDLER,
                code=code,
                layers=layers,
                architecture=architecture,
                memory_mb=placement.memory_mb,
                timeout_s=placement.timeout_s,
                log_retention_days=log_retention_days,
                reserved_concurrency=placement.reserved_concurrency,
                environment={**environment, ENV_PIPELINE_STEP: step},
                removal_policy=removal_policy,
            ).function
            self.functions[step] = function
            self.alarms[step] = [
                self._alarm(f"{cid}Errors", function.metric_errors, f"{step} crashed"),
                self._alarm(f"{cid}Throttles", function.metric_throttles, f"{step} throttled"),
            ]

    def _alarm(
        self, construct_id: str, metric: Callable[..., cloudwatch.Metric], what: str
    ) -> cloudwatch.Alarm:
        return cloudwatch.Alarm(
            self,
            construct_id,
            alarm_description=f"servekit pipeline step {what} (see docs/pipelines.md, Placement)",
            metric=metric(period=Duration.minutes(1), statistic="Sum"),
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=3,
            datapoints_to_alarm=2,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )

    def grant_invoke(self, role: iam.IRole) -> None:
        """``lambda:InvokeFunction`` on these step functions' unqualified ARNs, nothing more."""
        if self.functions:
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["lambda:InvokeFunction"],
                    resources=[f.function_arn for f in self.functions.values()],
                )
            )


def step_functions_environment(pipelines: Sequence[PipelineSteps]) -> str:
    """SERVEKIT_PIPELINE_STEP_FUNCTIONS: JSON of step id -> function name (tokens resolve to
    the names at deploy)."""
    entries = [f'"{s}": "{f.function_name}"' for p in pipelines for s, f in p.functions.items()]
    return "{" + ", ".join(entries) + "}"
