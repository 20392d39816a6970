"""The inference service: what every route does, independent of how requests arrive."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from servekit import __version__
from servekit.errors import ApiError
from servekit.inference.adapters import task_body
from servekit.inference.codec import PredictionRequest, prediction_body
from servekit.observability import logger
from servekit.observability.service_metrics import note
from servekit.runtime.catalog import ModelCatalog
from servekit.runtime.errors import ModelRunError
from servekit.runtime.model import LoadedModel
from servekit.runtime.validation import InvalidInputError, batch_size
from servekit.settings import Settings

if TYPE_CHECKING:
    from servekit.cache import CacheWiring
    from servekit.inference.metrics import InferenceMetrics
    from servekit.monitoring.capture import Capture
    from servekit.rollouts.serving import RolloutServing

__all__ = ["InferenceService", "SessionForwarder"]


class SessionForwarder(Protocol):
    """The hybrid path (servekit.sessions.forwarding): checks a request's ``session`` field
    before inference (ApiError if malformed) and returns the send to run after it."""

    def prepare(self, raw: Any) -> Callable[[], dict[str, Any]]: ...


class InferenceService:
    def __init__(
        self,
        catalog: ModelCatalog,
        settings: Settings,
        metrics: InferenceMetrics,
        forwarder: SessionForwarder | None = None,
        cache: CacheWiring | None = None,
        *,
        rollouts: RolloutServing | None = None,
        capture: Capture | None = None,
    ) -> None:
        self.catalog = catalog
        self.settings = settings
        self.metrics = metrics
        self.forwarder = forwarder
        if cache is None:  # no cache: rows go straight to the model
            from servekit.cache import CacheSettings, build_cache

            cache = build_cache(CacheSettings())
        self.cache = cache
        self._rollouts = rollouts
        self._rollouts_lock = threading.Lock()
        if capture is None:  # no capture: answers still carry a prediction id
            from servekit.monitoring.capture import Capture
            from servekit.monitoring.settings import MonitoringSettings

            capture = Capture(MonitoringSettings(), None)
        self.capture = capture

    def health(self) -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "models": self.catalog.names}

    def list_models(self) -> dict[str, Any]:
        return {
            "default_model": self.catalog.default_name,
            "models": [self._describe(m) for m in self.catalog],
        }

    def describe_model(self, name: str) -> dict[str, Any]:
        return self._describe(self.catalog.model(name))

    @property
    def rollouts(self) -> RolloutServing:
        """Chooses, runs, records, shadows while a rollout serves two versions (rollouts.md).

        Built on first use (EMF figures; the local stack passes LocalFigures): a function that
        never serves a rollout never imports the rollout modules on its cold start.
        """
        if self._rollouts is None:
            with self._rollouts_lock:
                if self._rollouts is None:
                    from servekit.rollouts.wiring import build_serving

                    self._rollouts = build_serving()
        return self._rollouts

    def flush_rollouts(self) -> None:
        """Write the rollout figures still pending (after each Lambda invocation)."""
        if self._rollouts is not None:
            self._rollouts.flush()

    def predict(self, request: PredictionRequest, key: str | None = None) -> dict[str, Any]:
        """Validate and run one ``POST /predict`` request as one batched call; ``key`` (the
        ``x-servekit-key`` header or session id) keeps a client on one version of a rollout."""
        served = self.catalog.served(request.model)  # looked up once: a swap never splits it
        forward = self._forward(request.session)
        if served.rolling_out:
            response = self.rollouts.call(
                served,
                key,
                lambda m: self._run(request, m),
                shadow_run=lambda m: self._run(request, m, record=False),
            )
        else:  # the warm path without a rollout: one attribute read more
            response = self._run(request, served.incumbent)
        if forward is not None:
            response["session"] = forward()  # never raises: the prediction stands
        return response

    def _run(
        self, request: PredictionRequest, model: LoadedModel, *, record: bool = True
    ) -> dict[str, Any]:
        """``request`` on ``model`` (the version chosen), its answer naming that version;
        ``record=False`` for a shadow copy (its figures are the shadow runner's)."""
        if record:
            note(model.name, model.version)  # a failure counts against the version that failed
        if model.manifest.row_classifier:
            return self._predict_rows(request, model, record)
        return self._predict_outputs(request, model, record)

    def _predict_rows(
        self, request: PredictionRequest, model: LoadedModel, record: bool = True
    ) -> dict[str, Any]:
        """A single-input classifier: rows through the cache's inference path."""
        tensor = self._tensor(request, model)
        started = time.perf_counter()
        rows = self.cache.inference_path.predict(model, tensor)
        if record:
            self.metrics.prediction(model, len(tensor), (time.perf_counter() - started) * 1000.0)
        body = prediction_body(model.manifest, rows.probabilities, rows.cached)
        return self._captured(model, {model.manifest.input.name: tensor}, body, record)

    def _predict_outputs(
        self, request: PredictionRequest, model: LoadedModel, record: bool = True
    ) -> dict[str, Any]:
        """Any other model: named tensors in, through the cache's inference path (keys over
        every input, rows of every output), named outputs through its task adapter out."""
        if request.inputs_ref is not None:
            raise ApiError(
                422,
                "invalid_field",
                f"'inputs_ref' serves single-input classifiers only; send 'inputs' to "
                f"model {model.name}",
            )
        feeds = self.catalog.feeds(model.manifest, request.inputs)
        started = time.perf_counter()
        try:
            results = self.cache.inference_path.run(model, feeds)
        except ModelRunError as exc:
            if not exc.rejected:
                logger.error("model failed", extra={"model": model.name, "reason": exc.reason})
            raise exc.for_model(model.name) from None
        rows = batch_size(feeds)
        if record:
            self.metrics.prediction(model, rows, (time.perf_counter() - started) * 1000.0)
        return self._captured(
            model, feeds, task_body(model.manifest, results.outputs, results.cached), record
        )

    def _captured(
        self, model: LoadedModel, feeds: dict[str, Any], body: dict[str, Any], record: bool
    ) -> dict[str, Any]:
        """``body`` with its prediction id (the request sampled for capture or not); a shadow
        copy (``record`` false) is neither captured nor answered, so it gets none."""
        if record:
            body["prediction_id"] = self.capture.record(model.name, model.version, feeds, body)
        return body

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

    def _tensor(self, request: PredictionRequest, model: LoadedModel) -> Any:
        if request.inputs_ref is not None:  # by reference: fetched through the data cache
            try:
                return self.cache.inputs.load(
                    request.inputs_ref,
                    model.manifest.input,
                    self.settings.max_rows,
                    self.settings.max_body_bytes,
                )
            except InvalidInputError as exc:
                raise exc.for_model(model.name) from None
        if isinstance(request.inputs, dict):  # named inputs, for the one input it takes
            return self.catalog.feeds(model.manifest, request.inputs)[model.manifest.input.name]
        return self.catalog.tensor(model.manifest, request.inputs)

    def _describe(self, model: LoadedModel) -> dict[str, Any]:
        return {
            **model.manifest.to_dict(),
            "default": model.name == self.catalog.default_name,
            "cache": self.cache.inference_path.mode(model),
        }
