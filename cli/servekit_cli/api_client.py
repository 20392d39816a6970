"""A small JSON client for the servekit HTTP API: plain HTTP locally, SigV4-signed when the
deployed API uses IAM authorization (the default)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

__all__ = ["ApiClient", "ApiError"]


class ApiError(RuntimeError):
    """The API answered an error: ``status`` and its ``{"error": {"code", "message"}}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class ApiClient:
    base_url: str
    region: str | None = None
    """Set for a deployed API: requests are signed with SigV4 for ``execute-api``."""
    timeout_s: float = 30.0

    def get(self, path: str) -> Any:
        return self.call("GET", path)

    def post(self, path: str, body: Any | None = None) -> Any:
        return self.call("POST", path, body)

    def call(self, method: str, path: str, body: Any | None = None) -> Any:
        url = self.base_url.rstrip("/") + path
        data = None if body is None else json.dumps(body).encode()
        headers = {"content-type": "application/json"} if data is not None else {}
        if self.region is not None:
            headers = _signed(method, url, data, headers, self.region)
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                error = json.loads(raw)["error"]
                code, message = str(error["code"]), str(error["message"])
            except (ValueError, KeyError, TypeError):
                code, message = "http_error", raw.decode(errors="replace")[:500]
            raise ApiError(exc.code, code, message) from None
        except urllib.error.URLError as exc:
            raise ApiError(0, "unreachable", f"cannot reach {url}: {exc.reason}") from None


def _signed(
    method: str, url: str, data: bytes | None, headers: dict[str, str], region: str
) -> dict[str, str]:
    import boto3
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    credentials = boto3.Session().get_credentials()
    if credentials is None:
        raise ApiError(0, "no_credentials", "no AWS credentials found to sign the request")
    request = AWSRequest(method=method, url=url, data=data, headers=headers)
    SigV4Auth(credentials.get_frozen_credentials(), "execute-api", region).add_auth(request)
    return dict(request.headers.items())
