"""The ``servekit.api`` section: the HTTP API in front of the functions."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from infra.config.base import StrictModel

__all__ = ["ApiConfig"]


class ApiConfig(StrictModel):
    """The HTTP API in front of the function."""

    auth: Literal["iam", "jwt", "none"] = "iam"
    jwt_issuer: str | None = None
    jwt_audience: tuple[str, ...] = ()
    throttle_rate_limit: float = Field(default=100, gt=0)
    throttle_burst_limit: int = Field(default=200, gt=0)
    cors_allowed_origins: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _jwt_settings(self) -> ApiConfig:
        if self.auth == "jwt":
            if not self.jwt_issuer or not self.jwt_issuer.startswith("https://"):
                raise ValueError(
                    "auth 'jwt' needs jwt_issuer, the https:// URL of the token issuer"
                    f" (got {self.jwt_issuer!r})"
                )
            if not self.jwt_audience:
                raise ValueError("auth 'jwt' needs jwt_audience, a non-empty list of audiences")
        return self
