"""The CLI's one HTTP client for the servekit API: JSON in and out, plain HTTP to a local
server, SigV4-signed (``execute-api``) for a deployed API with IAM authorization (the default).

Every command that calls the API goes through :class:`ApiClient`; a failure of any kind is one
:class:`ApiError` whose text says what happened, with the API's own
``{"error": {"code", "message"}}`` when it answered one.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

__all__ = ["ApiClient", "ApiError"]


class ApiError(RuntimeError):
    """The API answered an error, or could not be asked.

    ``status`` is the HTTP status (0 when no answer came: unreachable, timed out, unsigned);
    ``code`` and ``message`` come from the API's ``{"error": {"code", "message"}}``.
    """

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}" if status else f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class ApiClient:
    base_url: str
    region: str | None = None
    """Set for a deployed API: requests are signed with SigV4 for ``execute-api``."""
    timeout_s: float = 30.0
    """Per request; API Gateway's own integration limit is 30 s."""

    def get(self, path: str) -> Any:
        return self.call("GET", path)

    def post(self, path: str, body: Any | None = None) -> Any:
        return self.call("POST", path, body)

    def call(self, method: str, path: str, body: Any | None = None) -> Any:
        """The decoded JSON answer of a 2xx; :class:`ApiError` for anything else."""
        url = self.base_url.rstrip("/") + path
        data = None if body is None else json.dumps(body).encode()
        headers = {"content-type": "application/json"} if data is not None else {}
        if self.region is not None:
            headers = _signed(method, url, data, headers, self.region)
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                raw = response.read()
                status = response.status
        except urllib.error.HTTPError as exc:
            raise _error_from(exc.code, exc.read()) from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                raise _timed_out(url, self.timeout_s) from None
            raise ApiError(
                0, "unreachable", f"cannot reach {url} ({exc.reason}): is the server running?"
            ) from None
        except TimeoutError:
            raise _timed_out(url, self.timeout_s) from None
        try:
            return json.loads(raw or b"null")
        except ValueError:
            raise ApiError(
                status, "bad_response", f"{url} answered {_excerpt(raw)!r}, not JSON"
            ) from None


def _error_from(status: int, raw: bytes) -> ApiError:
    try:
        error = json.loads(raw)["error"]
        return ApiError(status, str(error["code"]), str(error["message"]))
    except (ValueError, KeyError, TypeError):
        return ApiError(status, "http_error", _excerpt(raw) or "(no body)")


def _timed_out(url: str, timeout_s: float) -> ApiError:
    return ApiError(0, "timeout", f"{url} did not answer within {timeout_s:g} s")


def _excerpt(raw: bytes) -> str:
    return raw.decode(errors="replace")[:500]


def _signed(
    method: str, url: str, data: bytes | None, headers: dict[str, str], region: str
) -> dict[str, str]:
    """``headers`` plus the SigV4 ones for ``execute-api``, from the caller's AWS credentials."""
    import boto3
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    credentials = boto3.Session().get_credentials()
    if credentials is None:
        raise ApiError(0, "no_credentials", "no AWS credentials found to sign the request")
    request = AWSRequest(method=method, url=url, data=data, headers=headers)
    SigV4Auth(credentials.get_frozen_credentials(), "execute-api", region).add_auth(request)
    return dict(request.headers.items())
