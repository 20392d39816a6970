"""ElastiCache IAM authentication: short-lived SigV4 tokens instead of a stored password.

The function's role holds ``elasticache:Connect`` on the cache and the user; the token is a
presigned ``connect`` request, signed locally with the role's credentials (no network call, so
no Secrets Manager and no interface endpoint in the VPC). Tokens live 15 minutes and are only
needed when a connection opens; botocore (in the Lambda runtime) is imported on first use.
"""

from __future__ import annotations

import threading
import time
from typing import Any
from urllib.parse import ParseResult, urlencode, urlunparse

from redis.credentials import CredentialProvider

__all__ = ["IamTokenProvider", "iam_auth_token"]

TOKEN_LIFETIME_S = 900
REFRESH_AFTER_S = 600  # reuse a token for new connections, well inside its lifetime


def iam_auth_token(
    user: str, cache_name: str, region: str, *, serverless: bool, credentials: Any = None
) -> str:
    """A presigned ``connect`` token for ``user`` on ``cache_name`` (AWS's documented recipe)."""
    import botocore.session
    from botocore.model import ServiceId
    from botocore.signers import RequestSigner

    session = botocore.session.get_session()
    signer = RequestSigner(
        ServiceId("elasticache"),
        region,
        "elasticache",
        "v4",
        credentials if credentials is not None else session.get_credentials(),
        session.get_component("event_emitter"),
    )
    query = {"Action": "connect", "User": user}
    if serverless:
        query["ResourceType"] = "ServerlessCache"
    url = urlunparse(
        ParseResult(
            scheme="https",
            netloc=cache_name,
            path="/",
            query=urlencode(query),
            params="",
            fragment="",
        )
    )
    signed: str = signer.generate_presigned_url(
        {"method": "GET", "url": url, "body": {}, "headers": {}, "context": {}},
        operation_name="connect",
        expires_in=TOKEN_LIFETIME_S,
        region_name=region,
    )
    return signed.removeprefix("https://")


class IamTokenProvider(CredentialProvider):
    """redis-py credentials: (user id, a fresh-enough IAM token) for each new connection."""

    def __init__(self, *, user: str, cache_name: str, region: str, serverless: bool) -> None:
        self.user = user
        self.cache_name = cache_name
        self.region = region
        self.serverless = serverless
        self._token = ""
        self._issued = 0.0
        self._lock = threading.Lock()

    def get_credentials(self) -> tuple[str, str]:
        with self._lock:
            if not self._token or time.monotonic() - self._issued > REFRESH_AFTER_S:
                self._token = iam_auth_token(
                    self.user, self.cache_name, self.region, serverless=self.serverless
                )
                self._issued = time.monotonic()
            return self.user, self._token
