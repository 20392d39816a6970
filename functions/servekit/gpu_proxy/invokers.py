"""One attempt at the endpoint: SageMaker ``InvokeEndpoint`` or a local container over HTTP.

Both raise :class:`InvokeError` with the same classification, so retries, hedging and the
client's status do not depend on where the container runs.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Protocol

from servekit.gpu_proxy.errors import InvokeError
from servekit.gpu_proxy.settings import GpuProxySettings

__all__ = [
    "Invocation",
    "Invoker",
    "LocalHttpInvoker",
    "SageMakerInvoker",
    "classify_container_status",
    "invoker_for",
]

# SageMaker runtime error codes that are worth another attempt (after a backoff).
_THROTTLED = frozenset({"ThrottlingException", "TooManyRequestsException"})
_UNAVAILABLE = frozenset(
    {
        "ServiceUnavailable",
        "InternalFailure",
        "InternalDependencyException",
        "ModelNotReadyException",
    }
)


@dataclass(frozen=True, slots=True)
class Invocation:
    body: bytes
    content_type: str
    variant: str | None


class Invoker(Protocol):
    def __call__(self, body: bytes, variant: str | None, timeout_ms: int) -> Invocation:
        """One attempt; ``timeout_ms`` is forwarded as the container's deadline."""
        ...


def classify_container_status(status: int, body: str) -> InvokeError:
    """The container answered ``status``: its 429/503 are backpressure, the rest its verdict."""
    if status == 429:
        return InvokeError("throttled", "the model container is throttling", original_status=429)
    if status == 503:
        return InvokeError(
            "unavailable",
            "the model container is busy (queue full or starting)",
            original_status=503,
        )
    return InvokeError(
        "model_error",
        f"the model container answered {status}",
        original_status=status,
        original_body=body,
    )


class SageMakerInvoker:
    """``sagemaker-runtime:InvokeEndpoint``; botocore's own retries are off (ours decide)."""

    def __init__(self, settings: GpuProxySettings, client: Any = None) -> None:
        assert settings.endpoint_name is not None
        self.endpoint_name = settings.endpoint_name
        self.settings = settings
        self._client = client  # created on first use: importing boto3 costs ~0.25 s

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = _client(self.settings)
        return self._client

    def __call__(self, body: bytes, variant: str | None, timeout_ms: int) -> Invocation:
        from botocore.exceptions import (
            ClientError,
            ConnectionError,
            ReadTimeoutError,
        )

        arguments: dict[str, Any] = {
            "EndpointName": self.endpoint_name,
            "Body": body,
            "ContentType": "application/json",
            "Accept": "application/json",
            "CustomAttributes": f"timeout_ms={timeout_ms}",
        }
        if variant:
            arguments["TargetVariant"] = variant
        try:
            response = self.client.invoke_endpoint(**arguments)
            payload = response["Body"].read()
        except ReadTimeoutError:
            raise InvokeError("timeout", "the endpoint did not answer in time") from None
        except ConnectionError as exc:
            raise InvokeError("connection", f"cannot reach SageMaker: {exc}") from None
        except ClientError as exc:
            raise _client_error(exc.response) from None
        return Invocation(
            body=payload,
            content_type=response.get("ContentType", "application/json"),
            variant=response.get("InvokedProductionVariant"),
        )


class LocalHttpInvoker:
    """``POST {url}/invocations`` on a container running locally (``servekit serve``)."""

    def __init__(self, settings: GpuProxySettings) -> None:
        assert settings.local_url is not None
        self.url = f"{settings.local_url}/invocations"
        self.timeout_s = settings.connect_timeout_s + settings.read_timeout_s

    def __call__(self, body: bytes, variant: str | None, timeout_ms: int) -> Invocation:
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={"content-type": "application/json", "x-servekit-timeout-ms": str(timeout_ms)},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return Invocation(
                    body=response.read(),
                    content_type=response.headers.get("content-type", "application/json"),
                    variant=variant or "local",
                )
        except urllib.error.HTTPError as exc:
            raise classify_container_status(
                exc.code, exc.read().decode("utf-8", "replace")
            ) from None
        except TimeoutError:
            raise InvokeError("timeout", "the local container did not answer in time") from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                raise InvokeError("timeout", "the local container did not answer in time") from None
            raise InvokeError("connection", f"cannot reach {self.url}: {exc.reason}") from None


def invoker_for(settings: GpuProxySettings) -> Invoker:
    if settings.local_url is not None:
        return LocalHttpInvoker(settings)
    return SageMakerInvoker(settings)


def _client(settings: GpuProxySettings) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=settings.connect_timeout_s,
        read_timeout=settings.read_timeout_s,
        retries={"total_max_attempts": 1},  # retries are ours: backoff, budget, hedging
        max_pool_connections=16,  # hedged calls run side by side
        tcp_keepalive=True,
    )
    return boto3.client("sagemaker-runtime", config=config)


def _client_error(response: dict[str, Any]) -> InvokeError:
    error = response.get("Error", {})
    code = str(error.get("Code", ""))
    message = str(error.get("Message", "")) or code
    if code == "ModelError":
        status = response.get("OriginalStatusCode") or error.get("OriginalStatusCode")
        original = response.get("OriginalMessage") or error.get("OriginalMessage") or ""
        if status is not None:
            return classify_container_status(int(status), str(original))
        return InvokeError("model_error", message, original_status=500, original_body=original)
    if code in _THROTTLED:
        return InvokeError("throttled", message)
    if code in _UNAVAILABLE:
        return InvokeError("unavailable", message)
    http_status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    if http_status >= 500:
        return InvokeError("unavailable", message)
    return InvokeError("rejected", f"{code}: {message}")
