"""Code rollouts of a function: published versions, an alias, CodeDeploy's canary, SnapStart.

The API and event sources invoke the alias, never ``$LATEST``, so a deploy publishes a new
version and moves the alias: at once by default, or through a CodeDeploy canary that shifts a
share of traffic, watches the alias's alarms and moves it back when one fires.

The deployment group's role is written inline, least privilege (this alias, these alarms),
instead of CDK's default ``AWSCodeDeployRoleForLambdaLimited`` managed policy, which grants
``lambda:UpdateAlias`` on every function of the account.
"""

from __future__ import annotations

from typing import Final

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.config.deploy import CODE_CANARY_CONFIGS, DeployConfig
from infra.constructs.servekit_function import ServekitFunction

__all__ = ["CodeRollout"]

ROLLBACK_ALARM_ID: Final = "RollbackAlarm"
DEPLOYMENT_GROUP_ID: Final = "DeploymentGroup"
DEPLOY_ROLE_ID: Final = "DeployRole"


class CodeRollout(Construct):
    """How a new version of ``function`` reaches its ``live`` alias (the function's own).

    Attributes:
        alias: the function's ``live`` alias, which the API invokes.
        deployment_group: the CodeDeploy group (``deploy.code_canary`` set), else None.
        alarms: the alarms that roll a deployment back (add more with :meth:`add_alarm`).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: ServekitFunction,
        config: DeployConfig,
    ) -> None:
        super().__init__(scope, construct_id)
        if config.snapstart:  # the version's hash (computed at synth) covers this setting
            cfn = function.function.node.default_child
            assert isinstance(cfn, lambda_.CfnFunction)
            cfn.snap_start = lambda_.CfnFunction.SnapStartProperty(apply_on="PublishedVersions")
        self.alias = function.alias
        self.alarms: list[cloudwatch.IAlarm] = []
        self.deployment_group: codedeploy.LambdaDeploymentGroup | None = None
        self._deploy_role: iam.Role | None = None
        if config.code_canary is None:
            return
        self._deploy_role = iam.Role(
            self,
            DEPLOY_ROLE_ID,
            assumed_by=iam.ServicePrincipal("codedeploy.amazonaws.com"),
            description="servekit code canary: shifts this one alias and reads its alarms",
        )
        self._deploy_role.add_to_policy(
            iam.PolicyStatement(
                sid="ShiftThisAlias",
                actions=[
                    "lambda:GetAlias",
                    "lambda:UpdateAlias",
                    "lambda:GetProvisionedConcurrencyConfig",
                ],
                resources=[function.function.function_arn, self.alias.function_arn],
            )
        )
        self.deployment_group = codedeploy.LambdaDeploymentGroup(
            self,
            DEPLOYMENT_GROUP_ID,
            alias=self.alias,
            deployment_config=getattr(
                codedeploy.LambdaDeploymentConfig, CODE_CANARY_CONFIGS[config.code_canary]
            ),
            # Our inline role only: CDK's managed policy would be added to a mutable one.
            role=self._deploy_role.without_policy_updates(),
            auto_rollback=codedeploy.AutoRollbackConfig(
                failed_deployment=True, deployment_in_alarm=True
            ),
        )
        self.add_alarm(
            cloudwatch.Alarm(
                self,
                ROLLBACK_ALARM_ID,
                alarm_description="servekit code canary: the new version raises errors",
                metric=self.alias.metric_errors(period=Duration.minutes(1), statistic="Sum"),
                threshold=config.rollback_errors,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        )

    def add_alarm(self, alarm: cloudwatch.IAlarm) -> None:
        """Roll a deployment back when ``alarm`` fires (the monitoring alarms, say); a no-op
        without a canary. The deploy role may read exactly the alarms it watches."""
        if self.deployment_group is None or self._deploy_role is None:
            return
        self.deployment_group.add_alarm(alarm)
        self.alarms.append(alarm)
        self._deploy_role.add_to_policy(
            iam.PolicyStatement(actions=["cloudwatch:DescribeAlarms"], resources=[alarm.alarm_arn])
        )
