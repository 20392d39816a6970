"""A Lambda handler behind real HTTP: each request becomes an API Gateway HTTP API (payload v2)
event, as the deployed stack makes it, and the handler's answer the HTTP response (binary
answers base64-decoded). Used where a real HTTP client (schemathesis, tritonclient) must talk
to the inference Lambda."""

from __future__ import annotations

import asyncio
import base64
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from servekit_cli.local.emulator import free_port
from tests.helpers import LambdaContext, load_event

__all__ = ["LambdaOverHttp", "served_over_http"]


class LambdaOverHttp:
    """ASGI app: each HTTP request becomes an API Gateway HTTP API (payload v2) event for a
    Lambda handler, and the handler's answer the HTTP response."""

    def __init__(self, handler: Callable[[dict[str, Any], Any], dict[str, Any]]) -> None:
        self.handler = handler

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        event = load_event("predict_one_row")
        event["headers"] = {}
        for name, value in scope["headers"]:  # API Gateway lower-cases and joins them
            key = name.decode("latin-1").lower()
            joined = event["headers"].get(key)
            value_text = value.decode("latin-1")
            event["headers"][key] = value_text if joined is None else f"{joined},{value_text}"
        # an HTTP API delivers the path percent-decoded, in rawPath as in http.path
        event["rawPath"] = event["requestContext"]["http"]["path"] = scope["path"]
        event["rawQueryString"] = scope["query_string"].decode("latin-1")
        event["requestContext"]["http"]["method"] = scope["method"]
        event["routeKey"] = event["requestContext"]["routeKey"] = "$default"
        event.pop("body", None)
        if body:
            event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
        loop = asyncio.get_running_loop()
        answer = await loop.run_in_executor(None, self.handler, event, LambdaContext())
        content = answer.get("body") or ""
        raw = base64.b64decode(content) if answer.get("isBase64Encoded") else content.encode()
        headers = [(k.encode(), str(v).encode()) for k, v in answer.get("headers", {}).items()]
        for name, values in (answer.get("multiValueHeaders") or {}).items():
            headers += [(name.encode(), str(v).encode()) for v in values]
        await send(
            {"type": "http.response.start", "status": answer["statusCode"], "headers": headers}
        )
        await send({"type": "http.response.body", "body": raw})


@contextmanager
def served_over_http(app: Any) -> Iterator[str]:
    """``app`` under uvicorn on a loopback port, in a thread of this process."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
