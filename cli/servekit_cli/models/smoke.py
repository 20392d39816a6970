"""One smoke inference through the serving path, on generated inputs of the declared shapes.

The model folder is loaded as the server loads it (manifest read and checked, sha256
verified, onnxruntime session) and the request goes through :class:`InferenceService`, the
service behind ``POST /predict``: the body printed is the body ``/predict`` answers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from servekit.runtime.manifest import Dim, Manifest, TensorSpec
from servekit_cli.commands import CommandError

__all__ = ["SMOKE_ROWS", "generated_inputs", "smoke"]

SMOKE_ROWS = 2
_FREE_LENGTH = 3  # the length given to a dimension kept free on purpose


def generated_inputs(manifest: Manifest, rows: int = SMOKE_ROWS) -> dict[str, list[Any]]:
    """``rows`` rows of every input, as JSON values of its dtype: floats count up from 0.5 in
    tenths (varied, exact in float16), ints and strings are 0 and "0"-like, bools alternate."""
    return {spec.name: [_row(spec, row) for row in range(rows)] for spec in manifest.inputs}


def _row(spec: TensorSpec, row: int) -> Any:
    counter = iter(range(1_000_000))

    def value() -> Any:
        step = next(counter) + row
        if spec.dtype == "bool":
            return step % 2 == 0
        if spec.dtype == "string":
            return str(step % 2)
        if spec.dtype.startswith("float"):
            return round(0.5 + (step % 10) / 10, 1)
        return 0  # ints: 0 is a valid index, category or count for any model

    return _nest(spec.row_shape, value)


def _nest(shape: Sequence[Dim], value: Any) -> Any:
    if not shape:
        return value()
    length = shape[0] if isinstance(shape[0], int) else _FREE_LENGTH
    return [_nest(shape[1:], value) for _ in range(length)]


def smoke(folder: Path, request_inputs: dict[str, list[Any]]) -> dict[str, Any]:
    """The ``/predict`` body for ``request_inputs`` to the model in ``folder``; a refusal
    with the runtime's reason when it cannot load or answer."""
    from servekit.errors import ApiError
    from servekit.inference.codec import PredictionRequest
    from servekit.inference.metrics import InferenceMetrics
    from servekit.inference.service import InferenceService
    from servekit.runtime.catalog import ModelCatalog
    from servekit.runtime.errors import ModelLoadError
    from servekit.runtime.loader import load_model
    from servekit.settings import Settings
    from servekit.transports.codec import encode

    settings = Settings(model_dir=folder.parent, models=(folder.name,), intra_op_threads=1)
    try:
        model = load_model(folder, settings.intra_op_threads)
    except ModelLoadError as exc:
        raise CommandError(f"the server would not load this model: {exc}") from None
    catalog = ModelCatalog.of_models([model], max_rows=settings.max_rows)
    metrics = InferenceMetrics()
    service = InferenceService(catalog, settings, metrics)
    inputs: Any = request_inputs
    if model.manifest.single_input:  # the row form, as most clients of one input send it
        inputs = request_inputs[model.manifest.input.name]
    try:
        body = service.predict(PredictionRequest(inputs=inputs, model=model.name))
    except ApiError as exc:
        raise CommandError(
            f"the smoke inference on generated inputs failed ({exc.status} {exc.code}): "
            f"{exc.message}. Check the input shapes (--shape) and dtypes the model needs"
        ) from None
    finally:
        metrics.sink.clear_metrics()  # nothing to flush: this was no request
    answered: dict[str, Any] = json.loads(encode(body))  # as the server's transport writes it
    return answered
