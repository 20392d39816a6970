"""The proxy route ``POST /gpu/predict`` to the SageMaker GPU endpoint (or a local container).

Timeouts, bounded retries with jittered backoff, optional hedging, and clear status codes for
the endpoint's failures. boto3 is imported on the first call, never at import.
"""

from servekit.gpu_proxy.errors import InvokeError
from servekit.gpu_proxy.invokers import Invocation, invoker_for
from servekit.gpu_proxy.policy import CallPolicy
from servekit.gpu_proxy.service import GpuProxyService
from servekit.gpu_proxy.settings import GpuProxySettings

__all__ = [
    "CallPolicy",
    "GpuProxyService",
    "GpuProxySettings",
    "Invocation",
    "InvokeError",
    "invoker_for",
]
