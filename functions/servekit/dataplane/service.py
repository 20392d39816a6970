"""The inference service: what every route does, independent of how requests arrive."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from servekit import __version__
from servekit.dataplane.codec import check_content_type, decode_predict_request
from servekit.dataplane.errors import ApiError
from servekit.runtime.model import LoadedModel
from servekit.runtime.registry import ModelRegistry
from servekit.runtime.validation import InvalidInputError, to_batch
from servekit.settings import Settings

__all__ = ["InferenceService", "Recorder", "SessionForwarder"]


class Recorder(Protocol):
    """Where the service reports what it did (Powertools metrics in production)."""

    def prediction(self, model: LoadedModel, rows: int, inference_ms: float) -> None: ...

    def rejected(self, code: str) -> None: ...


class SessionForwarder(Protocol):
    """The hybrid path (servekit.sessions.forwarding): checks a request's ``session`` field
    before inference (ApiError if malformed) and returns the send to run after it."""

    def prepare(self, raw: Any) -> Callable[[], dict[str, Any]]: ...


class InferenceService:
    def __init__(
        self,
        registry: ModelRegistry,
        settings: Settings,
        recorder: Recorder,
        forwarder: SessionForwarder | None = None,
    ) -> None:
        self.registry = registry
        self.settings = settings
        self.recorder = recorder
        self.forwarder = forwarder

    def health(self) -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "models": self.registry.names}

    def list_models(self) -> dict[str, Any]:
        return {
            "default_model": self.registry.default_name,
            "models": [self._describe(m) for m in self.registry],
        }

    def describe_model(self, name: str) -> dict[str, Any]:
        return self._describe(self._model(name))

    def predict(self, body: bytes, content_type: str | None) -> dict[str, Any]:
        """Decode, validate and run one ``POST /predict`` request as one batched call."""
        try:
            check_content_type(content_type)
            request = decode_predict_request(body, self.settings.max_body_bytes)
            model = self._model(request.model)
            forward = self._forward(request.session)
            try:
                batch = to_batch(request.inputs, model.manifest.input, self.settings.max_rows)
            except InvalidInputError as exc:
                raise ApiError(422, exc.code, f"{exc.message} (model {model.name})") from None
        except ApiError as exc:
            self.recorder.rejected(exc.code)
            raise
        started = time.perf_counter()
        prediction = model.predict(batch)
        self.recorder.prediction(model, len(batch), (time.perf_counter() - started) * 1000.0)
        labels = model.manifest.labels
        probabilities = prediction.probabilities
        response: dict[str, Any] = {
            "model": {"name": model.name, "version": model.version},
            "predictions": [
                {"label": labels[index], "score": row[index], "probabilities": row}
                for index, row in zip(prediction.class_indices.tolist(), probabilities, strict=True)
            ],
        }
        if forward is not None:
            response["session"] = forward()  # never raises: the prediction stands
        return response

    def _forward(self, session: Any) -> Callable[[], dict[str, Any]] | None:
        if session is None:
            return None
        if self.forwarder is None:
            raise ApiError(
                422,
                "sessions_not_configured",
                "field 'session' needs the session events queue, which this deployment lacks",
            )
        return self.forwarder.prepare(session)

    def _model(self, name: str | None) -> LoadedModel:
        model = self.registry.get(name)
        if model is None:
            raise ApiError(
                404,
                "unknown_model",
                f"model {name!r} is not served here; available: {self.registry.names}",
            )
        return model

    def _describe(self, model: LoadedModel) -> dict[str, Any]:
        return {**model.manifest.to_dict(), "default": model.name == self.registry.default_name}
