"""What every config section shares: the strict base model, the error type, common rules.

A section is a frozen pydantic model that rejects unknown keys (a misspelt key in
``cdk.json`` would otherwise be ignored). Rules that more than one section applies (log
retention periods, model names, the HTTP API's timeout) are spelt here once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Final, TypeAlias

from pydantic import AfterValidator, BaseModel, ConfigDict

__all__ = [
    "HTTP_API_TIMEOUT_S",
    "MODEL_NAME_RE",
    "RETENTION_DAYS",
    "ConfigError",
    "LogRetentionDays",
    "StrictModel",
]

# The retention periods CloudWatch Logs accepts, by number of days, as aws_logs.RetentionDays
# member names (the Python enum carries names, not numbers). "Never expire" is left out on
# purpose: every log group this app creates has a retention.
RETENTION_DAYS: Final[Mapping[int, str]] = {
    1: "ONE_DAY", 3: "THREE_DAYS", 5: "FIVE_DAYS", 7: "ONE_WEEK", 14: "TWO_WEEKS",
    30: "ONE_MONTH", 60: "TWO_MONTHS", 90: "THREE_MONTHS", 120: "FOUR_MONTHS",
    150: "FIVE_MONTHS", 180: "SIX_MONTHS", 365: "ONE_YEAR", 400: "THIRTEEN_MONTHS",
    545: "EIGHTEEN_MONTHS", 731: "TWO_YEARS", 1096: "THREE_YEARS", 1827: "FIVE_YEARS",
    2192: "SIX_YEARS", 2557: "SEVEN_YEARS", 2922: "EIGHT_YEARS", 3288: "NINE_YEARS",
    3653: "TEN_YEARS",
}  # fmt: skip

# A model name: a folder under models/artifacts/ and a comma-free env value.
MODEL_NAME_RE: Final = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
# API Gateway HTTP APIs give an integration at most 30 s: a longer Lambda timeout is dead time.
HTTP_API_TIMEOUT_S: Final = 30


class ConfigError(ValueError):
    """The ``servekit`` context is missing or invalid; the message lists every problem."""


class StrictModel(BaseModel):
    """A config section: unknown keys are errors, parsed values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _valid_retention(days: int) -> int:
    if days not in RETENTION_DAYS:
        raise ValueError(f"must be one of CloudWatch Logs' periods {sorted(RETENTION_DAYS)}")
    return days


LogRetentionDays: TypeAlias = Annotated[int, AfterValidator(_valid_retention)]
"""A log group's retention in days: one of the periods CloudWatch Logs accepts."""
