"""The model registry: the versions/aliases table and the artifacts bucket, and the grants
that let serving functions follow it.

* Table: ``pk``/``sk`` string keys (``servekit.registry.shapes``), on demand, AWS-managed
  encryption, point-in-time recovery and deletion protection from the config, retained.
* Bucket: S3-managed encryption, public access blocked, TLS only, ACLs off, versioning on
  (an object overwritten by mistake keeps its first bytes; keys hold the sha256 and the
  watcher checks it), retained whatever ``removal_policy`` says.
* :meth:`ModelRegistry.serve_from`: a function that serves ``name@alias`` gets the registry
  env and may only ``GetItem``/``Query`` the items of the models it serves (the
  ``dynamodb:LeadingKeys`` condition on ``MODEL#<name>``) and ``GetObject`` their artifacts
  (``models/<name>/*``): nothing else of the registry, and no write.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config import RegistryConfig
from infra.constructs.servekit_function import ServekitFunction
from infra.constructs.tables import servekit_table
from servekit.registry import shapes

__all__ = ["READ_ACTIONS", "ModelRegistry"]

READ_ACTIONS = ("dynamodb:GetItem", "dynamodb:Query")
TABLE_ID = "Table"
BUCKET_ID = "Artifacts"


class ModelRegistry(Construct):
    """Attributes: table, bucket."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: RegistryConfig,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self.table = servekit_table(
            self,
            TABLE_ID,
            partition_key=shapes.TABLE_PARTITION_KEY,
            sort_key=shapes.TABLE_SORT_KEY,
            ttl_attribute=shapes.TABLE_TTL_ATTRIBUTE,
            point_in_time_recovery=config.point_in_time_recovery,
            deletion_protection=config.deletion_protection,
            removal_policy=RemovalPolicy.RETAIN,  # the versions and the audit trail outlive it
        )
        self.bucket = s3.Bucket(
            self,
            BUCKET_ID,
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        CfnOutput(
            Stack.of(self),  # the stack's own output names: the CLI reads them
            shapes.OUTPUT_REGISTRY_TABLE,
            value=self.table.table_name,
            description="model registry table (servekit models push/promote)",
        )
        CfnOutput(
            Stack.of(self),  # the stack's own output names: the CLI reads them
            shapes.OUTPUT_REGISTRY_BUCKET,
            value=self.bucket.bucket_name,
            description="model registry artifacts bucket",
        )

    def serve_from(
        self, functions: Sequence[ServekitFunction], models: Sequence[str], alias: str
    ) -> None:
        """Make ``functions`` serve ``models`` from ``alias``, reading only those models."""
        environment = {
            shapes.ENV_MODEL_SOURCE: "registry",
            shapes.ENV_REGISTRY_TABLE: self.table.table_name,
            shapes.ENV_REGISTRY_BUCKET: self.bucket.bucket_name,
            shapes.ENV_REGISTRY_ALIAS: alias,
            shapes.ENV_REGISTRY_INTERVAL_S: str(self.config.interval_s),
        }
        items = iam.PolicyStatement(
            actions=list(READ_ACTIONS),
            resources=[self.table.table_arn],
            conditions={
                "ForAllValues:StringEquals": {
                    "dynamodb:LeadingKeys": [shapes.model_key(name) for name in models]
                }
            },
        )
        objects = iam.PolicyStatement(
            actions=["s3:GetObject"],
            resources=[
                self.bucket.arn_for_objects(f"{shapes.artifact_prefix(name)}*") for name in models
            ],
        )
        for servekit_function in functions:
            for key, value in environment.items():
                servekit_function.function.add_environment(key, value)
            servekit_function.role.add_to_principal_policy(items)
            servekit_function.role.add_to_principal_policy(objects)
