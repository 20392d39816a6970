"""The protocol's errors: ``{"error": "<message>"}`` with a 4xx (or a 500), as V2 clients read.

tritonclient raises ``InferenceServerException(msg=body["error"], status=...)`` from that body,
so the message is all a client sees: it names the input, output or field and what is wrong.
Refusals of the shared runtime (``InvalidInputError``, ``ApiError``) are turned into this shape
here, once; their 422s become 400s, the status Triton and KServe answer for an invalid argument.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from servekit.errors import ApiError
from servekit.observability import logger

__all__ = ["V2Error", "as_v2", "bad_request", "protocol_errors"]

P = ParamSpec("P")
R = TypeVar("R")


class V2Error(ApiError):
    """An :class:`ApiError` answered in the protocol's body (its ``code`` stays for metrics
    and logs)."""

    def to_body(self) -> dict[str, Any]:
        return {"error": self.message}


def bad_request(code: str, message: str) -> V2Error:
    return V2Error(400, code, message)


def as_v2(error: ApiError) -> V2Error:
    if isinstance(error, V2Error):
        return error
    status = 400 if error.status == 422 else error.status
    return V2Error(status, error.code, error.message, error.headers)


def protocol_errors(handler: Callable[P, R]) -> Callable[P, R]:
    """``handler`` with every :class:`ApiError` it raises answered in the protocol's body."""

    @wraps(handler)
    def answered(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return handler(*args, **kwargs)
        except ApiError as exc:
            raise as_v2(exc) from None
        except Exception:  # a bug: logged with its trace, answered without one
            logger.exception("unhandled error")
            internal = ApiError.internal(logger.get_correlation_id() or "unknown")
            raise as_v2(internal) from None

    return answered
