"""The protocol's logic over the inference path's models: metadata, health, infer.

Inference runs through the catalog and the inference path (``/predict``'s cache where one is
configured, else :meth:`LoadedModel.run`): outputs are exactly onnxruntime's values. Every
input goes through the runtime's validation (dtype, shape, finite floats, string lengths,
batch sizes), after the protocol's own checks (datatype, rank, data length), so a refusal
names the input either way.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

from servekit import __version__
from servekit.cache.types import DirectInference, InferencePath
from servekit.inference.adapters import task_body
from servekit.monitoring.capture import new_prediction_id
from servekit.observability import logger
from servekit.observability.service_metrics import note
from servekit.runtime.errors import ModelRunError
from servekit.runtime.model import LoadedModel, zipmap_probabilities
from servekit.runtime.validation import batch_size
from servekit.v2.codec import InferRequest, OutputTensor, encode_infer, input_value
from servekit.v2.errors import V2Error, bad_request
from servekit.v2.shapes import (
    DATATYPES,
    EXTENSIONS,
    PLATFORM,
    SERVER_NAME,
    v2_datatype,
    v2_shape,
)

if TYPE_CHECKING:
    from servekit.inference.metrics import InferenceMetrics
    from servekit.monitoring.capture import Capture
    from servekit.rollouts.serving import RolloutServing
    from servekit.runtime.catalog import ModelCatalog
    from servekit.runtime.manifest import Manifest, TensorSpec

__all__ = ["V2Service"]


class V2Service:
    def __init__(
        self,
        catalog: ModelCatalog,
        metrics: InferenceMetrics | None = None,
        inference: InferencePath | None = None,
        rollouts: RolloutServing | None = None,
        capture: Capture | None = None,
    ) -> None:
        self.catalog = catalog
        self.rollouts = rollouts  # the inference service's: one choice, one set of figures
        self.metrics = metrics
        self.inference = inference or DirectInference()
        """The inference Lambda's cache path (``/predict``'s), so V2 requests share its hits."""
        self.capture = capture
        """``/predict``'s data capture: a sampled share of V2 requests is captured for drift
        (V2 answers carry no prediction id, so they take no feedback)."""

    def server_metadata(self) -> dict[str, Any]:
        return {"name": SERVER_NAME, "version": __version__, "extensions": list(EXTENSIONS)}

    def live(self) -> dict[str, Any]:
        return {"live": True}

    def ready(self) -> dict[str, Any]:
        """Models load before the first request is taken: a process that answers is ready."""
        return {"ready": True}

    def model(self, name: str, version: str | None = None) -> LoadedModel:
        """The served model (a rollout's candidate too, when asked for by version); an
        unknown name, or a version it does not serve, is a 404."""
        served = self.catalog.served(name)
        model = served.incumbent if version is None else served.version(version)
        if model is None:
            raise V2Error(
                404,
                "unknown_version",
                f"model {name!r} has no version {version!r}; it serves version "
                + " and ".join(repr(v) for v in served.versions),
            )
        return model

    def answer(self, name: str, version: str | None, request: InferRequest, key: str | None) -> Any:
        """Infer on the version asked for, else on the one a rollout chooses for ``key``."""
        served = self.catalog.served(name)
        if version is not None or not served.rolling_out or self.rollouts is None:
            return self.infer(self.model(name, version), request)
        return self.rollouts.call(
            served,
            key,
            lambda model: self.infer(model, request),
            shadow_run=lambda model: self.infer(model, request, record=False),
        )

    def model_metadata(self, name: str, version: str | None = None) -> dict[str, Any]:
        manifest = self.model(name, version).manifest
        return {
            "name": manifest.name,
            "versions": [manifest.version],
            "platform": PLATFORM,
            "inputs": [_metadata(spec, manifest) for spec in manifest.inputs],
            "outputs": [_metadata(spec, manifest) for spec in manifest.outputs],
        }

    def model_ready(self, name: str, version: str | None = None) -> dict[str, Any]:
        return {"name": self.model(name, version).name, "ready": True}

    def infer(self, model: LoadedModel, request: InferRequest, *, record: bool = True) -> Any:
        """One inference: the request's inputs validated, every (or each requested) output;
        ``record=False`` for a rollout's shadow copy (no request metrics)."""
        manifest = model.manifest
        if record:
            note(model.name, model.version)  # a failure counts against the version that failed
        specs = {spec.name: spec for spec in manifest.inputs}
        values: dict[str, Any] = {}
        for tensor in request.inputs:
            spec = specs.get(tensor.name)
            if spec is not None:  # an unknown input is refused by the runtime's validation
                _check_signature(tensor.name, tensor.datatype, tensor.shape, spec, manifest)
            values[tensor.name] = input_value(tensor)
        feeds = self.catalog.feeds(manifest, values)
        wanted = self._wanted(manifest, request)
        started = time.perf_counter()
        try:
            outputs = self.inference.run(model, feeds).outputs
        except ModelRunError as exc:
            if not exc.rejected:
                logger.error("model failed", extra={"model": model.name, "reason": exc.reason})
            raise exc.for_model(model.name) from None
        if record and self.metrics is not None:
            elapsed_ms = (time.perf_counter() - started) * 1000.0
            self.metrics.prediction(model, batch_size(feeds), elapsed_ms)
        if record and self.capture is not None and self.capture.drawn():  # drift sees V2 too
            answer = task_body(manifest, outputs).get("predictions", [])
            self.capture.keep(new_prediction_id(), model.name, model.version, feeds, answer)
        answered = [
            OutputTensor(
                name, v2_datatype(manifest.output(name)), _value(manifest, name, outputs), binary
            )
            for name, binary in wanted
        ]
        return encode_infer((model.name, model.version), request.id, answered)

    @staticmethod
    def _wanted(manifest: Manifest, request: InferRequest) -> list[tuple[str, bool]]:
        if request.outputs is None:
            return [(spec.name, request.binary_outputs) for spec in manifest.outputs]
        declared = [spec.name for spec in manifest.outputs]
        for name, _ in request.outputs:
            if name not in declared:
                raise bad_request(
                    "unknown_output",
                    f"output {name!r} is not an output of model {manifest.name} "
                    f"(outputs: {declared})",
                )
        return [
            (name, request.binary_outputs if binary is None else binary)
            for name, binary in request.outputs
        ]


def _check_signature(
    name: str, datatype: str, shape: tuple[int, ...], spec: TensorSpec, manifest: Manifest
) -> None:
    expected = DATATYPES[spec.dtype]
    if datatype != expected:
        raise bad_request(
            "invalid_datatype",
            f"input {name!r} is {datatype}; model {manifest.name} takes {expected}",
        )
    if len(shape) != len(spec.shape):
        raise bad_request(
            "invalid_shape",
            f"input {name!r} has shape {list(shape)}; model {manifest.name} takes "
            f"{v2_shape(spec)} (-1: any size)",
        )


def _metadata(spec: TensorSpec, manifest: Manifest) -> dict[str, Any]:
    return {
        "name": spec.name,
        "datatype": v2_datatype(spec),
        "shape": v2_shape(spec, manifest.labels),
    }


def _value(manifest: Manifest, name: str, outputs: dict[str, Any]) -> Any:
    """onnxruntime's value; a ZipMap's maps as [rows, labels] in label order."""
    raw = outputs[name]
    if not manifest.output(name).is_zipmap:
        return np.asarray(raw)
    labels = list(manifest.labels) or ([str(key) for key in raw[0]] if raw else [])
    return zipmap_probabilities(raw, labels)
