"""The ``servekit.deploy`` section: how the functions' code rolls out (item 5 of issue 12).

Every function gets published versions and an alias (free); the CodeDeploy canary and
SnapStart are off by default: SnapStart for Python bills snapshot caching and restores, and a
canary slows every deploy down to its bake time.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

from pydantic import Field

from infra.config.base import StrictModel

__all__ = ["CODE_CANARY_CONFIGS", "CodeCanary", "DeployConfig"]

# CodeDeploy's predefined Lambda configurations (aws_codedeploy.LambdaDeploymentConfig names).
CodeCanary: TypeAlias = Literal[
    "Canary10Percent5Minutes",
    "Canary10Percent10Minutes",
    "Canary10Percent15Minutes",
    "Canary10Percent30Minutes",
    "Linear10PercentEvery1Minute",
    "Linear10PercentEvery2Minutes",
    "Linear10PercentEvery3Minutes",
    "Linear10PercentEvery10Minutes",
    "AllAtOnce",
]
CODE_CANARY_CONFIGS: dict[str, str] = {
    "Canary10Percent5Minutes": "CANARY_10_PERCENT_5_MINUTES",
    "Canary10Percent10Minutes": "CANARY_10_PERCENT_10_MINUTES",
    "Canary10Percent15Minutes": "CANARY_10_PERCENT_15_MINUTES",
    "Canary10Percent30Minutes": "CANARY_10_PERCENT_30_MINUTES",
    "Linear10PercentEvery1Minute": "LINEAR_10_PERCENT_EVERY_1_MINUTE",
    "Linear10PercentEvery2Minutes": "LINEAR_10_PERCENT_EVERY_2_MINUTES",
    "Linear10PercentEvery3Minutes": "LINEAR_10_PERCENT_EVERY_3_MINUTES",
    "Linear10PercentEvery10Minutes": "LINEAR_10_PERCENT_EVERY_10_MINUTES",
    "AllAtOnce": "ALL_AT_ONCE",
}


class DeployConfig(StrictModel):
    """How the inference function's new versions reach its ``live`` alias."""

    code_canary: CodeCanary | None = Field(
        default=None,
        description="a CodeDeploy config that shifts the alias to a new version gradually, "
        "rolling back on the function's alarms; null moves the alias at once",
    )
    rollback_errors: int = Field(
        default=1,
        ge=1,
        description="Lambda errors of the alias in one minute that fire the rollback alarm",
    )
    snapstart: bool = Field(
        default=False,
        description="SnapStart on published versions (the sessions load and warm before the "
        "snapshot); billed per cached snapshot and per restore",
    )
