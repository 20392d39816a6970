"""Transport-independent request handling: codec, errors and the inference service."""

from servekit.dataplane.codec import PredictRequest, decode_predict_request, encode
from servekit.dataplane.errors import ApiError
from servekit.dataplane.service import InferenceService, Recorder

__all__ = [
    "ApiError",
    "InferenceService",
    "PredictRequest",
    "Recorder",
    "decode_predict_request",
    "encode",
]
