"""One construct per capability; each exposes the resources it creates as attributes."""

from infra.constructs.dependencies_layer import DependenciesLayer
from infra.constructs.http_api import InferenceHttpApi
from infra.constructs.inference_function import InferenceFunction

__all__ = ["DependenciesLayer", "InferenceFunction", "InferenceHttpApi"]
