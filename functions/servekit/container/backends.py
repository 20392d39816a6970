"""Inference backends of the container: onnxruntime (default) or PyTorch on the same weights.

A backend turns a validated float tensor into class probabilities, row-aligned. Both serve a
model loaded by the runtime's checksum-verified loader (``wiring.load_backend``), so they
serve the same bytes the manifest names; the torch backend then reads those bytes' weights
(see ``mlp_program``).
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from servekit.container.mlp_program import MlpProgram
from servekit.runtime.model import LoadedModel

__all__ = ["InferenceBackend", "OnnxBackend", "Probabilities", "TorchBackend"]

Probabilities = npt.NDArray[np.float32]


class InferenceBackend(Protocol):
    model: LoadedModel

    def predict(self, tensor: npt.NDArray[Any]) -> Probabilities:
        """Class probabilities for ``tensor``, one row per input row (called from a thread)."""
        ...

    def describe(self) -> dict[str, Any]:
        """What runs the model (backend, providers or device), for ``/ping`` and metadata."""
        ...


class OnnxBackend:
    def __init__(self, model: LoadedModel, requested_providers: list[str]) -> None:
        self.model = model
        self.requested_providers = requested_providers

    def predict(self, tensor: npt.NDArray[Any]) -> Probabilities:
        return self.model.predict(tensor).probabilities

    def describe(self) -> dict[str, Any]:
        # get_providers() is what the session really uses: a CUDA provider that failed to
        # initialise (no driver) is missing there although it was requested.
        active = list(self.model.session.get_providers())
        return {
            "backend": "onnxruntime",
            "providers": active,
            "requested_providers": self.requested_providers,
            "device": "gpu" if active and active[0] != "CPUExecutionProvider" else "cpu",
        }


class TorchBackend:
    """The model's ONNX weights as torch tensors on ``device``; the same math as the graph."""

    def __init__(self, model: LoadedModel, program: MlpProgram, torch: Any, device: str) -> None:
        self.model = model
        self.program = program
        self._torch = torch
        self.device = torch.device(device)
        self._ops = [
            (op.kind, _tensor(torch, op.a, self.device), _tensor(torch, op.b, self.device))
            for op in program.ops
        ]

    def predict(self, tensor: npt.NDArray[Any]) -> Probabilities:
        torch = self._torch
        with torch.inference_mode():
            x = torch.as_tensor(np.ascontiguousarray(tensor, np.float32), device=self.device)
            for kind, a, b in self._ops:
                if kind == "scale":
                    x = (x - a) * b
                elif kind == "linear":
                    x = torch.addmm(b, x, a)
                elif kind == "Relu":
                    x = torch.relu(x)
                elif kind == "Sigmoid":
                    x = torch.sigmoid(x)
                elif kind == "Tanh":
                    x = torch.tanh(x)
                elif kind == "Softmax":
                    x = torch.softmax(x, dim=-1)
            return np.asarray(x.detach().cpu().numpy(), dtype=np.float32)

    def describe(self) -> dict[str, Any]:
        return {
            "backend": "torch",
            "torch_version": str(self._torch.__version__),
            "device": str(self.device),
            "layers": self.program.layer_sizes,
        }


def _tensor(torch: Any, value: npt.NDArray[np.float32] | None, device: Any) -> Any:
    return None if value is None else torch.as_tensor(value, device=device)
