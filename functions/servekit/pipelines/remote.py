"""A ``function``-placed step, seen from the router: its payload sent with the time left,
throttling retried with backoff while the step could still start, its answer decoded.

A crash (the invocation's function error) is the step failing (502 naming it): its body is
logged, never passed on. No answer in time, or throttled until too little time is left for the
step's minimum, is a 504 naming it (or a degraded answer where an ensemble allows one).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from servekit.observability import logger
from servekit.pipelines.errors import StepError, step_failed, step_timeout
from servekit.pipelines.invokers import InvokeTimeoutError, StepInvoker, ThrottledError
from servekit.pipelines.nodes import FunctionNode, ModelNode
from servekit.pipelines.values import Deadline, TraceEntry, Value
from servekit.pipelines.wire import PAYLOAD_VERSION, PayloadError, decode_tensors, encode_given

__all__ = ["RemoteSteps"]


class RemoteSteps:
    def __init__(
        self,
        invoker: StepInvoker,
        backoff_ms: float = 25.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.invoker = invoker
        self.backoff_ms = backoff_ms
        self.sleep = sleep

    def run(
        self,
        node: ModelNode | FunctionNode,
        given: Any,
        deadline: Deadline,
        entry: TraceEntry,
        labels: tuple[tuple[str, ...], str | None],
    ) -> Value:
        assert node.placement is not None
        step = node.placement.step_id
        entry.extra["placement"] = "function"
        fed = encode_given(given)
        attempts = 0
        while True:
            attempts += 1
            left = deadline.remaining_ms()
            payload = {"v": PAYLOAD_VERSION, "step": step, "deadline_ms": left, "given": fed}
            try:
                invocation = self.invoker.invoke(step, json.dumps(payload).encode(), left / 1000)
                break
            except ThrottledError:
                wait = self.backoff_ms * 2 ** (attempts - 1)
                if deadline.remaining_ms() - wait < node.min_ms:
                    entry.status, entry.extra["attempts"] = "throttled", attempts
                    raise StepError(
                        node.name, 504, "step_timeout", f"throttled {attempts} time(s)"
                    ) from None
                self.sleep(wait / 1000)
            except InvokeTimeoutError:
                raise step_timeout(node.name, deadline.remaining_ms()) from None
            except Exception:  # the invocation itself failed: permissions, no such function
                logger.exception("pipeline step invocation failed", extra={"step": node.name})
                raise step_failed(node.name) from None
        entry.extra["attempts"] = attempts
        return self._answer(node, invocation.payload, invocation.function_error, entry, labels)

    @staticmethod
    def _answer(
        node: ModelNode | FunctionNode,
        raw: bytes,
        function_error: str | None,
        entry: TraceEntry,
        labels: tuple[tuple[str, ...], str | None],
    ) -> Value:
        try:
            answer = json.loads(raw)
            if function_error is not None or not isinstance(answer, dict):
                raise PayloadError(f"function error {function_error}")
            if "error" in answer:  # the step's own refusal, already naming the step
                error = answer["error"]
                raise StepError(
                    node.name, error["status"], error["code"], error["message"], named=True
                )
            tensors = decode_tensors(answer.get("tensors"))
        except StepError:
            raise
        except (PayloadError, ValueError, KeyError, TypeError) as exc:
            logger.error("pipeline step failed", extra={"step": node.name, "reason": str(exc)})
            raise step_failed(node.name) from None
        if "model" in answer:
            entry.extra["model"] = answer["model"]
        entry.extra["step_ms"] = round(float(answer.get("latency_ms", 0.0)), 3)
        return Value(tensors, *labels)
