"""The app's typed configuration, parsed from the ``servekit`` key of the CDK context.

``cdk.json`` holds the values; this package is their schema, one module per capability like
``infra.constructs``: ``inference``, ``api``, ``jobs``, ``sessions``, ``cache``, ``batch``,
``stream``, ``gpu``; ``base`` holds what they share (the strict model, :class:`ConfigError`, log
retention periods, model names) and ``app`` the whole ``servekit`` object and its parsing.
Unknown keys are rejected: a misspelt key would otherwise be ignored.
"""

from infra.config.api import ApiConfig
from infra.config.app import ServekitConfig, load_cdk_json_context, parse_config
from infra.config.base import RETENTION_DAYS, ConfigError
from infra.config.batch import BatchConfig, BatchScheduleConfig
from infra.config.cache import CacheConfig
from infra.config.gpu import (
    ECR_IMAGE_RE,
    GpuAsyncInferenceConfig,
    GpuContainerConfig,
    GpuDataCaptureConfig,
    GpuEndpointConfig,
    GpuProxyConfig,
    GpuShadowVariantConfig,
    GpuVariantConfig,
)
from infra.config.inference import InferenceConfig
from infra.config.jobs import JobsConfig
from infra.config.monitoring import MonitoringConfig
from infra.config.sessions import SessionsConfig
from infra.config.streams import StreamConfig

__all__ = [
    "ECR_IMAGE_RE",
    "RETENTION_DAYS",
    "ApiConfig",
    "BatchConfig",
    "BatchScheduleConfig",
    "CacheConfig",
    "ConfigError",
    "GpuAsyncInferenceConfig",
    "GpuContainerConfig",
    "GpuDataCaptureConfig",
    "GpuEndpointConfig",
    "GpuProxyConfig",
    "GpuShadowVariantConfig",
    "GpuVariantConfig",
    "InferenceConfig",
    "JobsConfig",
    "MonitoringConfig",
    "ServekitConfig",
    "SessionsConfig",
    "StreamConfig",
    "load_cdk_json_context",
    "parse_config",
]
