"""The CLI's one HTTP client against a real HTTP server on loopback: JSON in and out, the API's
``{"error": {"code", "message"}}`` in every error, timeouts, and SigV4 for a deployed API."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from servekit_cli.http import ApiClient, ApiError
from servekit_cli.local.emulator import free_port

SEEN: list[dict[str, Any]] = []


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        SEEN.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                     "body": body})  # fmt: skip
        if self.path == "/slow":
            time.sleep(1.0)
        status, payload = {
            "/echo": (200, json.dumps({"got": json.loads(body or b"null")}).encode()),
            "/missing": (404, b'{"error": {"code": "batch_not_found", "message": "no batch"}}'),
            "/broken": (502, b"<html>Bad Gateway</html>"),
            "/not-json": (200, b"hello"),
            "/slow": (200, b"{}"),
        }[self.path]
        self.send_response(status)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_json_in_and_out_unsigned_locally(url: str) -> None:
    SEEN.clear()
    assert ApiClient(url + "/").post("/echo", {"a": [1, 2]}) == {"got": {"a": [1, 2]}}
    (request,) = SEEN
    assert request["headers"]["Content-Type"] == "application/json"
    assert "Authorization" not in request["headers"]


def test_the_apis_error_code_and_message_are_the_error(url: str) -> None:
    with pytest.raises(ApiError) as raised:
        ApiClient(url).get("/missing")
    assert (raised.value.status, raised.value.code) == (404, "batch_not_found")
    assert str(raised.value) == "404 batch_not_found: no batch"
    with pytest.raises(ApiError, match=r"^502 http_error: <html>Bad Gateway"):
        ApiClient(url).get("/broken")
    with pytest.raises(ApiError, match=r"^200 bad_response: .*'hello', not JSON"):
        ApiClient(url).get("/not-json")


def test_unreachable_and_slow_servers_are_one_clear_error(url: str) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ApiError, match=r"^unreachable: cannot reach .* is the server running"):
        ApiClient(dead).get("/echo")
    with pytest.raises(ApiError, match=r"^timeout: .*/slow did not answer within 0.2 s"):
        ApiClient(url, timeout_s=0.2).get("/slow")


def test_a_deployed_api_gets_sigv4_signed_requests(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    SEEN.clear()
    ApiClient(url, region="eu-west-1").post("/echo", {"a": 1})
    headers = SEEN[0]["headers"]
    assert (
        headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
        and "/eu-west-1/execute-api/aws4_request" in headers["Authorization"]
    )
    assert "X-Amz-Date" in headers
