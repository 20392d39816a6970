"""How the router reaches a ``function``-placed step: Lambda Invoke (deployed) or the local
invoker (``servekit serve``), which passes the same JSON payload through the same step handler
code, in process, so a local run exercises what AWS runs.

Both honour the step's reserved concurrency the way Lambda does: past it, an invocation is
throttled (:class:`ThrottledError`), and the router retries it within the request's deadline.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from servekit.observability import logger

if TYPE_CHECKING:
    from servekit.pipelines.step_host import StepHost

__all__ = [
    "Invocation",
    "InvokeTimeoutError",
    "LambdaInvoker",
    "LocalInvoker",
    "StepInvoker",
    "ThrottledError",
]


@dataclass(frozen=True, slots=True)
class Invocation:
    payload: bytes
    function_error: str | None = None
    """Lambda's ``FunctionError`` (``Unhandled``): the step crashed; its payload is not used."""


class ThrottledError(Exception):
    """The step's function is at its concurrency limit (Lambda's 429): retry later."""


class InvokeTimeoutError(Exception):
    """No answer within the time the request had left."""


class StepInvoker(Protocol):
    def invoke(self, step: str, payload: bytes, timeout_s: float) -> Invocation: ...


class LocalInvoker:
    """In-process step hosts, fed JSON bytes and answering JSON bytes, as Lambda would."""

    def __init__(self, hosts: Mapping[str, StepHost]) -> None:
        self.hosts = dict(hosts)
        self._in_flight = {step: 0 for step in self.hosts}
        self._lock = threading.Lock()

    def invoke(self, step: str, payload: bytes, timeout_s: float) -> Invocation:
        host = self.hosts[step]
        limit = host.placement.reserved_concurrency
        with self._lock:
            if limit is not None and self._in_flight[step] >= limit:
                raise ThrottledError(f"{step}: {limit} invocation(s) in flight")
            self._in_flight[step] += 1
        try:
            answer = host.handle(json.loads(payload), remaining_ms=timeout_s * 1000.0)
            return Invocation(json.dumps(answer).encode())
        except Exception as exc:  # a crash, reported as Lambda reports it
            logger.exception("pipeline step crashed", extra={"step": step})
            error = {"errorMessage": str(exc), "errorType": type(exc).__name__}
            return Invocation(json.dumps(error).encode(), "Unhandled")
        finally:
            with self._lock:
                self._in_flight[step] -= 1


class LambdaInvoker:
    """Synchronous Lambda Invoke of each step's function (``functions``: step id → name or
    ARN). The client's read timeout is the request's remaining time (rounded up to 100 ms, one
    client per rounded value) and botocore retries nothing: the router retries throttling
    itself, within the deadline."""

    def __init__(
        self, functions: Mapping[str, str], client: Callable[[float], Any] | None = None
    ) -> None:
        self.functions = dict(functions)
        self._client = client or _lambda_client
        self._clients: dict[float, Any] = {}

    def invoke(self, step: str, payload: bytes, timeout_s: float) -> Invocation:
        from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError

        rounded = math.ceil(max(timeout_s, 0.1) * 10) / 10
        client = self._clients.get(rounded)
        if client is None:
            client = self._clients.setdefault(rounded, self._client(rounded))
            if len(self._clients) > 32:  # a handful of deadlines in practice: keep it bounded
                self._clients.pop(next(iter(self._clients)))
        try:
            response = client.invoke(FunctionName=self.functions[step], Payload=payload)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code == "TooManyRequestsException" or status == 429:
                raise ThrottledError(f"{step}: {code or status}") from None
            raise
        except (ReadTimeoutError, ConnectTimeoutError):
            raise InvokeTimeoutError(step) from None
        return Invocation(response["Payload"].read(), response.get("FunctionError"))


def _lambda_client(timeout_s: float) -> Any:
    import boto3  # only a router with function-placed steps pays for it
    from botocore.config import Config

    config = Config(
        connect_timeout=min(timeout_s, 2.0),
        read_timeout=timeout_s,
        retries={"total_max_attempts": 1},
    )
    return boto3.client("lambda", config=config)
