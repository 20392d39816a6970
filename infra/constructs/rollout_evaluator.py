"""The rollout evaluator: an EventBridge schedule invokes a function that judges every
canary from the per-version metrics and writes its decision to the registry table.

Least privilege: ``cloudwatch:GetMetricData`` (no resource-level permissions exist for it,
hence ``*``, acknowledged in ``infra.nag.rollouts``) and item reads, the scan of aliases and
conditional writes on the registry table only (no bucket, no delete).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.config.rollouts import RolloutsConfig
from infra.constructs.dependencies_layer import Architecture
from infra.constructs.servekit_function import ServekitFunction
from servekit.registry.shapes import ENV_REGISTRY_TABLE
from servekit.rollouts.shapes import ENV_ROLLOUTS_STORE, EVALUATOR_HANDLER

__all__ = ["RolloutEvaluator"]

FUNCTION_ID: Final = "Function"
RULE_ID: Final = "Schedule"
REGISTRY_ACTIONS: Final = (
    "dynamodb:GetItem",  # the alias and the candidate's version, before each decision
    "dynamodb:Query",
    "dynamodb:Scan",  # the aliases under a rollout, once per evaluation
    "dynamodb:PutItem",  # the alias and its audit entry, in one conditional transaction
)


class RolloutEvaluator(Construct):
    """Attributes: evaluator (the :class:`ServekitFunction`), rule (its schedule)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: RolloutsConfig,
        code: lambda_.Code,
        layers: Sequence[lambda_.ILayerVersion],
        architecture: Architecture,
        log_retention_days: int,
        removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
        registry_table: dynamodb.ITable | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.evaluator = ServekitFunction(
            self,
            FUNCTION_ID,
            purpose="rollout evaluator",
            description="servekit: judges model canaries from per-version metrics",
            handler=EVALUATOR_HANDLER,
            code=code,
            layers=layers,
            architecture=architecture,
            memory_mb=config.memory_mb,
            timeout_s=config.timeout_s,
            log_retention_days=log_retention_days,
            environment={ENV_ROLLOUTS_STORE: config.store},
            reserved_concurrency=1,  # one judge at a time: no two decisions on one plan
            removal_policy=removal_policy,
        )
        self.evaluator.role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadVersionMetrics", actions=["cloudwatch:GetMetricData"], resources=["*"]
            )
        )
        if registry_table is not None:
            self.grant_registry(registry_table)
        self.rule = events.Rule(
            self,
            RULE_ID,
            description="servekit: evaluate model rollouts",
            schedule=events.Schedule.expression(config.schedule),
            targets=[targets.LambdaFunction(self.evaluator.alias, retry_attempts=0)],
        )

    def grant_registry(self, table: dynamodb.ITable) -> None:
        """Item reads and (conditional) writes on the registry table, nothing else; the
        table's name for the store (``SERVEKIT_REGISTRY_TABLE``)."""
        self.evaluator.function.add_environment(ENV_REGISTRY_TABLE, table.table_name)
        self.evaluator.role.add_to_policy(
            iam.PolicyStatement(
                sid="JudgeRollouts", actions=list(REGISTRY_ACTIONS), resources=[table.table_arn]
            )
        )
