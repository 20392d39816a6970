"""X-Ray subsegments through Powertools' Tracer, imported only when switched on."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, TypeVar

__all__ = ["Tracing"]

Handler = TypeVar("Handler", bound=Callable[..., Any])


class Tracing:
    """Wraps the handler and inference in subsegments, or does nothing when disabled."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._tracer: Any = None
        if enabled:
            # Deferred: aws_xray_sdk pulls in botocore (~0.2 s of cold start).
            from aws_lambda_powertools import Tracer

            self._tracer = Tracer(auto_patch=False)

    def wrap_handler(self, handler: Handler) -> Handler:
        if self._tracer is None:
            return handler
        wrapped: Handler = self._tracer.capture_lambda_handler(handler, capture_response=False)
        return wrapped

    def subsegment(self, name: str, **annotations: str) -> AbstractContextManager[Any]:
        if self._tracer is None:
            return nullcontext()
        return self._annotated(name, annotations)

    @contextmanager
    def _annotated(self, name: str, annotations: dict[str, str]) -> Iterator[Any]:
        with self._tracer.provider.in_subsegment(name) as subsegment:
            for key, value in annotations.items():
                subsegment.put_annotation(key=key, value=value)
            yield subsegment
