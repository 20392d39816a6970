"""The SageMaker real-time GPU endpoint: model artifacts, models, endpoint config, endpoint,
autoscaling, and the optional async-inference and data-capture outputs.

Shape and security choices, pinned by ``tests/infra/test_infra_gpu_endpoint.py``:

* one ``AWS::SageMaker::Model`` per served model: the image (from ``image_uri`` or built from
  ``container/`` as an image asset) plus ``model.tar.gz`` uploaded as an S3 asset; network
  isolation on (the container needs no network: the model comes from SageMaker);
* production variants with weights (A/B), an optional shadow variant;
* target-tracking autoscaling of each production variant on
  ``SageMakerVariantInvocationsPerInstance``, through Application Auto Scaling's
  service-linked role (no role of ours to over-grant);
* the execution role may only read its model archives, pull its image, write its own log
  group, and write (KMS-encrypted) to its own output prefixes and topics;
* one customer-managed KMS key (rotation on) encrypts the ML storage volume, the S3 outputs
  and the SNS topics. SageMaker refuses a volume key for instance types with local NVMe
  storage (g4dn, g5, g6, p4d, ...), whose instance store is hardware-encrypted; for those the
  endpoint config has no ``KmsKeyId`` (and cdk-nag's SM2... finding says why).
"""

from __future__ import annotations

from typing import Final

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from infra.config import ECR_IMAGE_RE, GpuEndpointConfig
from infra.constructs.gpu_autoscaling import add_variant_autoscaling
from infra.constructs.gpu_endpoint_outputs import GpuEndpointOutputs
from infra.gpu_assets import build_model_archive, stage_container_context
from servekit.container import shapes as container_env

__all__ = ["NVME_INSTANCE_FAMILIES", "GpuEndpoint", "container_environment", "has_local_nvme"]

# Instance families with local NVMe instance storage: SageMaker rejects a volume KmsKeyId.
NVME_INSTANCE_FAMILIES: Final = frozenset(
    {"g4dn", "g5", "g6", "g6e", "p3dn", "p4d", "p4de", "p5", "p5e", "m5d", "c5d", "r5d"}
)


def has_local_nvme(instance_type: str) -> bool:
    return instance_type.split(".")[1] in NVME_INSTANCE_FAMILIES


def container_environment(config: GpuEndpointConfig) -> dict[str, str]:
    """``SERVEKIT_CONTAINER_*`` for the model containers (names from the runtime module)."""
    c = config.container
    return {
        container_env.ENV_BACKEND: c.backend,
        container_env.ENV_BATCHING: "true" if c.batching else "false",
        container_env.ENV_MAX_BATCH_ROWS: str(c.max_batch_rows),
        container_env.ENV_MAX_WAIT_MS: str(c.max_wait_ms),
        container_env.ENV_MAX_QUEUE: str(c.max_queue),
        container_env.ENV_BATCH_CONCURRENCY: str(c.batch_concurrency),
        container_env.ENV_REQUEST_TIMEOUT_MS: str(c.request_timeout_ms),
    }


class GpuEndpoint(Construct):
    """Attributes: endpoint_name, endpoint_arn, endpoint, endpoint_config, models (by model
    name), role, key, outputs (bucket and topics, or None), scalable_targets (by variant)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: GpuEndpointConfig,
        stage: str,
        removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.config = config
        self.endpoint_name = config.endpoint_name or f"servekit-{stage}-gpu"
        self.endpoint_arn = stack.format_arn(
            service="sagemaker", resource="endpoint", resource_name=self.endpoint_name.lower()
        )
        self.key = kms.Key(
            self,
            "Key",
            description=f"servekit {self.endpoint_name}: ML volumes, async outputs, captures",
            enable_key_rotation=True,
            removal_policy=removal_policy,
        )
        self.role = iam.Role(
            self,
            "ExecutionRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description=f"servekit {self.endpoint_name}: model artifacts, image, own logs",
        )
        log_group = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=f"/aws/sagemaker/Endpoints/{self.endpoint_name}",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteEndpointLogs",
                actions=[
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:DescribeLogStreams",
                ],
                resources=[log_group, f"{log_group}:log-stream:*"],
            )
        )
        self._use_key(["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"])
        image_uri = self._image(config)
        self.outputs: GpuEndpointOutputs | None = None
        if config.async_inference.enabled or config.data_capture.enabled:
            self.outputs = GpuEndpointOutputs(
                self,
                "Outputs",
                config=config,
                role=self.role,
                key=self.key,
                removal_policy=removal_policy,
            )

        self.models: dict[str, sagemaker.CfnModel] = {}
        environment = container_environment(config)
        for index, name in enumerate(config.models):
            archive = s3_assets.Asset(
                self, f"ModelArchive{index}", path=str(build_model_archive(name))
            )
            self.role.add_to_policy(
                iam.PolicyStatement(
                    sid=f"ReadModelArchive{index}",
                    actions=["s3:GetObject"],
                    resources=[archive.bucket.arn_for_objects(archive.s3_object_key)],
                )
            )
            model = sagemaker.CfnModel(
                self,
                f"Model{index}",
                execution_role_arn=self.role.role_arn,
                enable_network_isolation=True,
                primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
                    image=image_uri,
                    model_data_url=archive.s3_object_url,
                    environment=environment,
                ),
            )
            # CreateModel checks that the role can reach the image and the archive: wait for
            # the role's policy (the role itself is already ordered by the GetAtt).
            policy = self.role.node.find_child("DefaultPolicy").node.default_child
            assert isinstance(policy, iam.CfnPolicy)
            model.add_dependency(policy)
            self.models[name] = model

        self.endpoint_config = sagemaker.CfnEndpointConfig(
            self,
            "Config",
            production_variants=[
                sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                    variant_name=v.name,
                    model_name=self.models[v.model].attr_model_name,
                    initial_instance_count=v.initial_instance_count,
                    instance_type=v.instance_type,
                    initial_variant_weight=v.weight,
                )
                for v in config.variants
            ],
            shadow_production_variants=self._shadow(config),
            kms_key_id=None if self.uses_local_nvme else self.key.key_arn,
            data_capture_config=self.outputs.data_capture_config() if self.outputs else None,
            async_inference_config=(
                self.outputs.async_inference_config() if self.outputs else None
            ),
        )
        self.endpoint = sagemaker.CfnEndpoint(
            self,
            "Endpoint",
            endpoint_name=self.endpoint_name,
            endpoint_config_name=self.endpoint_config.attr_endpoint_config_name,
            # A deploy (new model, new config) keeps the instance counts autoscaling has set
            # instead of resetting every variant to its initial count under live traffic;
            # weights and data capture still follow the config.
            retain_all_variant_properties=True,
            exclude_retained_variant_properties=[
                sagemaker.CfnEndpoint.VariantPropertyProperty(variant_property_type=kind)
                for kind in ("DesiredWeight", "DataCaptureConfig")
            ],
        )
        self.scalable_targets = add_variant_autoscaling(
            self, self.endpoint, self.endpoint_name, config.variants
        )

    @property
    def output_bucket(self) -> s3.IBucket | None:
        return self.outputs.bucket if self.outputs else None

    @property
    def uses_local_nvme(self) -> bool:
        types = [v.instance_type for v in self.config.variants]
        if self.config.shadow_variant is not None:
            types.append(self.config.shadow_variant.instance_type)
        return any(has_local_nvme(t) for t in types)

    def _use_key(self, actions: list[str]) -> None:
        self.role.add_to_policy(
            iam.PolicyStatement(sid="UseEndpointKey", actions=actions, resources=[self.key.key_arn])
        )

    def _image(self, config: GpuEndpointConfig) -> str:
        if config.image_uri is not None:
            match = ECR_IMAGE_RE.match(config.image_uri)
            assert match is not None  # validated by GpuEndpointConfig
            repository = ecr.Repository.from_repository_attributes(
                self,
                "ImageRepository",
                repository_name=match["repository"],
                repository_arn=Stack.of(self).format_arn(
                    service="ecr",
                    account=match["account"],
                    region=match["region"],
                    resource="repository",
                    resource_name=match["repository"],
                ),
            )
            repository.grant_pull(self.role)
            return config.image_uri
        asset = ecr_assets.DockerImageAsset(
            self,
            "Image",
            directory=str(stage_container_context()),
            platform=ecr_assets.Platform.LINUX_AMD64,
        )
        asset.repository.grant_pull(self.role)
        return asset.image_uri

    def _shadow(
        self, config: GpuEndpointConfig
    ) -> list[sagemaker.CfnEndpointConfig.ProductionVariantProperty] | None:
        shadow = config.shadow_variant
        if shadow is None:
            return None
        return [
            sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                variant_name=shadow.name,
                model_name=self.models[shadow.model].attr_model_name,
                initial_instance_count=shadow.instance_count,
                instance_type=shadow.instance_type,
                initial_variant_weight=shadow.sampling_weight,
            )
        ]
