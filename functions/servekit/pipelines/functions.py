"""``function`` steps: plain Python pre- or post-processing with a declared signature.

A step names its function by import path (``package.module:name``); the function is a
:class:`PipelineFunction` (made with :func:`pipeline_function`), so the spec can be type-checked
against its neighbours before anything runs. A function refuses bad input by raising
:class:`StepInputError` (answered 422 naming the step); any other exception is the step failing.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from servekit.runtime.manifest import TensorSpec
from servekit.runtime.validation import InvalidInputError, to_feeds, to_tensor

__all__ = [
    "BYTES",
    "PipelineFunction",
    "StepInputError",
    "function_feeds",
    "pipeline_function",
    "resolve_function",
]

BYTES = "bytes"
"""The dtype of an input that arrives as a base64 string in the request (an image, a file)."""

Feeds = Mapping[str, Any]


class StepInputError(ValueError):
    """The step's input cannot be processed: a client error, answered 422 naming the step."""


@dataclass(frozen=True)
class PipelineFunction:
    name: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    run: Callable[[Feeds], dict[str, Any]]
    labels: tuple[str, ...] = ()
    probabilities: str | None = None
    """The output holding class probabilities, when the function answers a classification."""
    requires: tuple[str, ...] = ()
    """Modules the function imports when it runs (``PIL``), beyond servekit's own."""

    def missing(self) -> list[str]:
        """The required modules this environment lacks (the Lambda layer carries servekit's
        runtime only: a step needing more is unavailable there, and says so)."""
        return [module for module in self.requires if importlib.util.find_spec(module) is None]


def pipeline_function(
    inputs: Mapping[str, tuple[str, tuple[int | None, ...]]],
    outputs: Mapping[str, tuple[str, tuple[int | None, ...]]],
    *,
    labels: tuple[str, ...] = (),
    probabilities: str | None = None,
    requires: tuple[str, ...] = (),
) -> Callable[[Callable[[Feeds], dict[str, Any]]], PipelineFunction]:
    """Declare a function step: input and output names → (dtype, shape)."""

    def specs(declared: Mapping[str, tuple[str, tuple[int | None, ...]]]) -> tuple[TensorSpec, ...]:
        return tuple(TensorSpec(name, dtype, shape) for name, (dtype, shape) in declared.items())

    def wrap(run: Callable[[Feeds], dict[str, Any]]) -> PipelineFunction:
        name = f"{run.__module__}:{run.__name__}"
        return PipelineFunction(
            name, specs(inputs), specs(outputs), run, labels, probabilities, requires
        )

    return wrap


def resolve_function(path: Any) -> PipelineFunction:
    """The function an import path names; ValueError saying why not."""
    if not isinstance(path, str) or path.count(":") != 1:
        raise ValueError(f"{path!r} is not an import path 'package.module:name'")
    module_name, attribute = path.split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"module {module_name!r} does not import: {exc}") from None
    found = getattr(module, attribute, None)
    if not isinstance(found, PipelineFunction):
        raise ValueError(f"{path!r} is not a function declared with @pipeline_function")
    return found


def function_feeds(specs: Sequence[TensorSpec], inputs: Any, max_rows: int) -> dict[str, Any]:
    """The request's inputs for a function step: rows for a one-tensor function, else named
    inputs (base64 strings for ``bytes`` ones), checked as /predict checks a model's."""
    tensors = [s for s in specs if s.dtype != BYTES]
    if not isinstance(inputs, dict):
        if len(specs) != 1 or not tensors:
            names = [s.name for s in specs]
            raise InvalidInputError("invalid_type", f"'inputs' must be an object of {names}")
        return {tensors[0].name: to_tensor(inputs, tensors[0], max_rows)}
    feeds: dict[str, Any] = {}
    if tensors:
        feeds = to_feeds({s.name: inputs.get(s.name) for s in tensors}, tensors, max_rows)
    for spec in specs:
        value = inputs.get(spec.name)
        if spec.dtype != BYTES:
            continue
        if not isinstance(value, list) or not 0 < len(value) <= max_rows:
            raise InvalidInputError(
                "invalid_type", f"input {spec.name!r} must be a list of 1 to {max_rows} strings"
            )
        if not all(isinstance(v, str) for v in value):
            raise InvalidInputError("invalid_type", f"input {spec.name!r} must hold base64 strings")
        feeds[spec.name] = value
    return feeds
