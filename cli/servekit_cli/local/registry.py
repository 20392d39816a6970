"""The model registry in the local emulator: its table and its artifacts bucket, shaped by
``servekit.registry.shapes`` as the CDK construct (``infra/constructs/registry.py``) is.

``servekit serve`` then serves from the registry (``SERVEKIT_MODEL_SOURCE=registry``, alias
``prod``, a short interval): models without an alias serve their bundled copy until
``servekit models promote`` names a version.
"""

from __future__ import annotations

from typing import Any, Final

from servekit.registry import shapes
from servekit_cli.local.resource_makers import create_table
from servekit_cli.local.resources import LocalResources, ProvisionContext

__all__ = ["LOCAL_INTERVAL_S", "create_registry_resources", "provision", "serving_environment"]

LOCAL_INTERVAL_S: Final = 2
"""Locally a promotion shows within two seconds; deployed functions default to 30."""


def create_registry_resources(
    session: Any, endpoint_url: str | None, stage: str = "local"
) -> dict[str, str]:
    """Create (or find again) the table and bucket; their env vars."""
    prefix = f"servekit-{stage}-registry"
    dynamodb = session.client("dynamodb", endpoint_url=endpoint_url)
    table = create_table(
        dynamodb,
        f"{prefix}-table",
        partition_key=shapes.TABLE_PARTITION_KEY,
        sort_key=shapes.TABLE_SORT_KEY,
        ttl_attribute=shapes.TABLE_TTL_ATTRIBUTE,
    )
    bucket = f"{prefix}-artifacts"
    s3 = session.client("s3", endpoint_url=endpoint_url)
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return {shapes.ENV_REGISTRY_TABLE: table, shapes.ENV_REGISTRY_BUCKET: bucket}


def provision(context: ProvisionContext) -> LocalResources:
    env = create_registry_resources(context.session, context.endpoint_url, context.stage)
    outputs = {
        shapes.OUTPUT_REGISTRY_TABLE: env[shapes.ENV_REGISTRY_TABLE],
        shapes.OUTPUT_REGISTRY_BUCKET: env[shapes.ENV_REGISTRY_BUCKET],
    }
    return LocalResources(env=env, outputs=outputs)


def serving_environment(environ: dict[str, str] | Any) -> dict[str, str]:
    """What ``servekit serve`` adds to serve from the local registry, where the user did not
    choose otherwise (``SERVEKIT_MODEL_SOURCE=bundled`` keeps the bundled models)."""
    return {
        shapes.ENV_MODEL_SOURCE: environ.get(shapes.ENV_MODEL_SOURCE) or "registry",
        shapes.ENV_REGISTRY_INTERVAL_S: environ.get(shapes.ENV_REGISTRY_INTERVAL_S)
        or str(LOCAL_INTERVAL_S),
    }
