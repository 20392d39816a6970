"""A minimal MLServer runtime that serves an ONNX model through onnxruntime (CPU).

MLServer ships no ONNX runtime; this is the smallest faithful one for the comparison in
``bench/mlserver_compare.py``. It runs inside MLServer's own venv (build/mlserver-venv), not
servekit's, and is loaded by MLServer from the model folder the bench writes.
"""
# mypy: ignore-errors

from __future__ import annotations

import numpy as np
import onnxruntime as ort
from mlserver import MLModel
from mlserver.codecs import NumpyCodec
from mlserver.types import InferenceRequest, InferenceResponse

__all__ = ["OnnxRuntime"]


class OnnxRuntime(MLModel):
    async def load(self) -> bool:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # as the servekit container in the same bench
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(
            self.settings.parameters.uri, options, providers=["CPUExecutionProvider"]
        )
        self._input = self._session.get_inputs()[0].name
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        batch = NumpyCodec.decode_input(payload.inputs[0]).astype(np.float32)
        (probabilities,) = self._session.run(["probabilities"], {self._input: batch})
        return InferenceResponse(
            model_name=self.name,
            outputs=[NumpyCodec.encode_output("probabilities", probabilities)],
        )
