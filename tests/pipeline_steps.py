"""Pipeline test support: the served example models, a poster through the pipelines' Router,
and function steps for the tests: a branch that is slow, one that fails, one that refuses its
input. Real steps, run by the real executor (only their behaviour is chosen)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from servekit.errors import ApiError
from servekit.pipelines import routes
from servekit.pipelines.functions import Feeds, StepInputError, pipeline_function
from servekit.pipelines.service import PipelinesService
from servekit.pipelines.settings import PipelinesSettings
from servekit.pipelines.spec import parse_pipelines
from servekit.pipelines.wiring import pipelines_service
from servekit.runtime.catalog import ModelCatalog
from servekit.runtime.loader import load_model
from tests.helpers import MODEL_DIR, dispatch

__all__ = [
    "MODELS",
    "SLOW_S",
    "THREADS",
    "Post",
    "digit_png",
    "failing",
    "load_catalog",
    "most_confident",
    "placed",
    "poster",
    "recording",
    "refusing",
    "service_of",
    "slow",
]

MODELS = ("digits-logreg", "digits-mlp", "digits-trees")
Post = Callable[..., tuple[int, dict[str, Any]]]


def load_catalog() -> ModelCatalog:
    return ModelCatalog.of_models([load_model(MODEL_DIR / name, 1) for name in MODELS])


def service_of(catalog: ModelCatalog, spec: dict[str, Any]) -> PipelinesService:
    """As ``servekit serve`` builds it: function-placed steps through the local invoker."""
    manifests = {m.name: m for m in catalog.manifests()}
    return pipelines_service(parse_pipelines(spec, manifests), catalog, PipelinesSettings())


def placed(spec: dict[str, Any], **lambda_: Any) -> dict[str, Any]:
    """``spec`` with every model and function step placed as ``function``."""
    if isinstance(spec, list):
        return [placed(item, **lambda_) for item in spec]  # type: ignore[return-value]
    if not isinstance(spec, dict):
        return spec
    copy = {key: placed(value, **lambda_) for key, value in spec.items()}
    if spec.get("kind") in ("model", "function"):
        copy["placement"] = "function"
        copy.update({"lambda": lambda_} if lambda_ else {})
    return copy


def digit_png(pixels: Any, size: int) -> str:
    """A PNG (base64) of an 8x8 digits row drawn dark on light, scaled to ``size`` pixels."""
    import base64
    import io

    from PIL import Image

    image = Image.fromarray((255 - np.reshape(pixels, (8, 8)) * 255 / 16).astype(np.uint8), "L")
    buffer = io.BytesIO()
    image.resize((size, size), Image.Resampling.NEAREST).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def poster(catalog: ModelCatalog, spec: dict[str, Any]) -> Post:
    router = routes.router(service_of(catalog, spec), 1 << 20)

    def post(name: str, inputs: Any, **extra: Any) -> tuple[int, dict[str, Any]]:
        body = json.dumps({"inputs": inputs, **extra}).encode()
        try:
            response = dispatch(router, "POST", f"/pipelines/{name}/predict", body)
        except ApiError as exc:  # as both transports render it
            return exc.status, exc.to_body()
        return response.status, json.loads(json.dumps(response.body))  # as the wire has it

    return post


SLOW_S = 0.6
_DIGITS = tuple(str(d) for d in range(10))
_SIGNATURE: dict[str, Any] = {
    "inputs": {"input": ("float32", (None, 64))},
    "outputs": {"label": ("int64", (None,)), "probabilities": ("float32", (None, 10))},
    "labels": _DIGITS,
    "probabilities": "probabilities",
}


def _uniform(feeds: Feeds) -> dict[str, Any]:
    rows = len(feeds["input"])
    return {
        "label": np.zeros(rows, dtype=np.int64),
        "probabilities": np.full((rows, 10), 0.1, dtype=np.float32),
    }


@pipeline_function(**_SIGNATURE)
def slow(feeds: Feeds) -> dict[str, Any]:
    """Answers uniform probabilities after SLOW_S seconds."""
    time.sleep(SLOW_S)
    return _uniform(feeds)


THREADS: list[str] = []
"""The threads ``recording`` ran on, in order."""


@pipeline_function(**_SIGNATURE)
def recording(feeds: Feeds) -> dict[str, Any]:
    """Answers uniform probabilities after 20 ms (slower than any digits model), noting the
    thread it ran on."""
    import threading

    THREADS.append(threading.current_thread().name)
    time.sleep(0.02)
    return _uniform(feeds)


@pipeline_function(**_SIGNATURE)
def failing(feeds: Feeds) -> dict[str, Any]:
    """Fails as a bug would, with a body that must never reach the client."""
    raise RuntimeError("SECRET internal detail")


@pipeline_function(**_SIGNATURE)
def refusing(feeds: Feeds) -> dict[str, Any]:
    raise StepInputError("row 0 is not a digit this step reads")


@pipeline_function(inputs={}, **{k: v for k, v in _SIGNATURE.items() if k != "inputs"})
def most_confident(branches: Feeds) -> dict[str, Any]:
    """An ensemble's own aggregation: per row, the probabilities of the surest branch."""
    stacked = np.stack([np.asarray(t["probabilities"]) for t in branches.values()])
    surest = stacked.max(axis=2).argmax(axis=0)
    chosen = stacked[surest, np.arange(stacked.shape[1])]
    return {"label": chosen.argmax(axis=1), "probabilities": chosen.astype(np.float32)}


@pipeline_function(**_SIGNATURE, requires=("servekit_test_no_such_module",))
def needs_a_missing_module(feeds: Feeds) -> dict[str, Any]:
    """Declares a module no environment has: its pipelines are unavailable (501)."""
    raise AssertionError("never run: the pipeline is refused before its steps start")
