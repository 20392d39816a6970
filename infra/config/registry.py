"""The ``servekit.registry`` section: the model registry's table and artifacts bucket.

On by default (it costs nothing idle: an on-demand table and an empty bucket). Functions
serve from it only when ``inference.model_source`` is ``registry``; the default stays
``bundled``, the models in the code asset, so a first deploy needs no registry content.
"""

from __future__ import annotations

from pydantic import Field

from infra.config.base import StrictModel

__all__ = ["RegistryConfig"]


class RegistryConfig(StrictModel):
    enabled: bool = True
    interval_s: int = Field(
        default=30, ge=1, le=3600, description="seconds between two reads of each alias"
    )
    point_in_time_recovery: bool = True
    deletion_protection: bool = Field(
        default=True, description="the table's deletion protection; turn off for throwaway stages"
    )
