"""The ``servekit.gpu_endpoint`` section: the SageMaker GPU endpoint and its proxy.

Off by default: GPU instances cost money while the endpoint exists.
"""

from __future__ import annotations

import re
from typing import Final, Literal

from pydantic import Field, field_validator, model_validator

from infra.config.base import HTTP_API_TIMEOUT_S, MODEL_NAME_RE, StrictModel

__all__ = [
    "ECR_IMAGE_RE",
    "GpuAsyncInferenceConfig",
    "GpuContainerConfig",
    "GpuDataCaptureConfig",
    "GpuEndpointConfig",
    "GpuProxyConfig",
    "GpuShadowVariantConfig",
    "GpuVariantConfig",
]

_VARIANT_NAME: Final = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"
_INSTANCE_TYPE: Final = r"^ml\.[a-z0-9]+\.[a-z0-9]+$"
# <account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>[:tag|@sha256:digest]
ECR_IMAGE_RE: Final = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
    r"(?P<repository>[a-z0-9][a-z0-9._/-]*)(?::[\w.-]+|@sha256:[0-9a-f]{64})$"
)


class GpuVariantConfig(StrictModel):
    """One production variant: a model on its own instances, with a share of the traffic."""

    name: str = Field(pattern=_VARIANT_NAME)
    model: str = Field(
        pattern=MODEL_NAME_RE.pattern, description="a folder under models/artifacts/"
    )
    weight: float = Field(default=1.0, gt=0, description="relative share of the traffic (A/B)")
    instance_type: str = Field(default="ml.g5.xlarge", pattern=_INSTANCE_TYPE)
    initial_instance_count: int = Field(default=1, ge=1)
    min_instances: int = Field(default=1, ge=1)
    max_instances: int = Field(default=2, ge=1)
    target_invocations_per_instance: float = Field(
        default=300.0, gt=0, description="per minute: the autoscaling target"
    )
    scale_in_cooldown_s: int = Field(default=300, ge=0)
    scale_out_cooldown_s: int = Field(default=60, ge=0)

    @model_validator(mode="after")
    def _bounds(self) -> GpuVariantConfig:
        if not self.min_instances <= self.initial_instance_count <= self.max_instances:
            raise ValueError(
                f"variant {self.name}: need min_instances <= initial_instance_count <= "
                f"max_instances, got {self.min_instances}, {self.initial_instance_count}, "
                f"{self.max_instances}"
            )
        return self


class GpuShadowVariantConfig(StrictModel):
    """A shadow variant: gets a copy of (a sample of) production traffic; its answers are
    logged by data capture, never returned to callers."""

    name: str = Field(pattern=_VARIANT_NAME)
    model: str = Field(pattern=MODEL_NAME_RE.pattern)
    instance_type: str = Field(default="ml.g5.xlarge", pattern=_INSTANCE_TYPE)
    instance_count: int = Field(default=1, ge=1)
    sampling_weight: float = Field(
        default=1.0, gt=0, description="weight relative to the production variants' total"
    )


class GpuAsyncInferenceConfig(StrictModel):
    """Asynchronous inference: requests queue in SageMaker, results land in S3."""

    enabled: bool = False
    max_concurrent_invocations_per_instance: int | None = Field(default=None, ge=1, le=1000)
    notifications: bool = Field(default=True, description="SNS success and error topics")


class GpuDataCaptureConfig(StrictModel):
    """Capture a sample of requests and answers to S3 (for drift monitoring, shadow review)."""

    enabled: bool = False
    sampling_percentage: int = Field(default=20, ge=1, le=100)


class GpuContainerConfig(StrictModel):
    """The serving container's settings (``SERVEKIT_CONTAINER_*``)."""

    backend: Literal["onnxruntime", "torch"] = "onnxruntime"
    batching: bool = True
    max_batch_rows: int = Field(default=64, ge=1, le=4096)
    max_wait_ms: float = Field(default=5.0, ge=0, le=1000)
    max_queue: int = Field(default=512, ge=1)
    batch_concurrency: int = Field(default=2, ge=1, le=8)
    request_timeout_ms: int = Field(default=20_000, ge=100, le=60_000)


class GpuProxyConfig(StrictModel):
    """The ``POST /gpu/predict`` Lambda."""

    memory_mb: int = Field(default=512, ge=128, le=10240)
    timeout_s: int = Field(default=29, ge=3, le=HTTP_API_TIMEOUT_S)
    read_timeout_ms: int = Field(default=10_000, ge=100)
    max_attempts: int = Field(default=3, ge=1, le=10)
    hedge_delay_ms: int = Field(default=0, ge=0, description="0: no hedging")
    reserved_concurrency: int | None = Field(default=None, ge=0)


class GpuEndpointConfig(StrictModel):
    """The SageMaker real-time endpoint (``enabled`` false: nothing is created)."""

    enabled: bool = False
    endpoint_name: str | None = Field(
        default=None, pattern=_VARIANT_NAME, description="default: servekit-<stage>-gpu"
    )
    image_uri: str | None = Field(
        default=None,
        description="an ECR image; None builds container/Dockerfile as a CDK image asset",
    )
    variants: tuple[GpuVariantConfig, ...] = Field(
        default=(GpuVariantConfig(name="primary", model="digits-mlp"),), min_length=1, max_length=10
    )
    shadow_variant: GpuShadowVariantConfig | None = None
    async_inference: GpuAsyncInferenceConfig = GpuAsyncInferenceConfig()
    data_capture: GpuDataCaptureConfig = GpuDataCaptureConfig()
    container: GpuContainerConfig = GpuContainerConfig()
    proxy: GpuProxyConfig = GpuProxyConfig()
    output_retention_days: int = Field(default=30, ge=1, description="async results, captures")

    @field_validator("image_uri")
    @classmethod
    def _ecr_image(cls, uri: str | None) -> str | None:
        if uri is not None and not ECR_IMAGE_RE.match(uri):
            raise ValueError(
                "SageMaker pulls from ECR: use <account>.dkr.ecr.<region>.amazonaws.com/"
                "<repository>:<tag> (or @sha256:<digest>)"
            )
        return uri

    @model_validator(mode="after")
    def _consistent(self) -> GpuEndpointConfig:
        names = [v.name for v in self.variants]
        if self.shadow_variant is not None:
            names.append(self.shadow_variant.name)
            if self.async_inference.enabled:
                raise ValueError("a shadow variant cannot be combined with async_inference")
        if len(set(names)) != len(names):
            raise ValueError(f"variant names must be unique, got {names}")
        return self

    @property
    def models(self) -> list[str]:
        """Every model any variant serves, in order of first use."""
        found = [v.model for v in self.variants]
        if self.shadow_variant is not None:
            found.append(self.shadow_variant.model)
        return list(dict.fromkeys(found))
