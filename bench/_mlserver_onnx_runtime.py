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


class OnnxRuntimeAllOutputs(OnnxRuntime):
    """Any model: every V2 input decoded by name, every graph output answered (or those the
    request names), as a V2 server must (bench/mlserver_v2.py)."""

    async def load(self) -> bool:
        await super().load()
        self._dtypes = {
            i.name: _NUMPY[i.type] for i in self._session.get_inputs() if i.type in _NUMPY
        }
        self._outputs = [o.name for o in self._session.get_outputs()]
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        feeds = {
            item.name: NumpyCodec.decode_input(item).astype(self._dtypes[item.name])
            for item in payload.inputs
        }
        names = [o.name for o in payload.outputs] if payload.outputs else self._outputs
        values = self._session.run(names, feeds)
        return InferenceResponse(
            model_name=self.name,
            outputs=[
                NumpyCodec.encode_output(name, value)
                for name, value in zip(names, values, strict=True)
            ],
        )


_NUMPY = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(bool)": np.bool_,
}
