"""Inference backends of the container: onnxruntime (default) or PyTorch on the same weights.

A backend turns a validated float batch into class probabilities, row-aligned. Both load
the model through the runtime's checksum-verified loader, so they serve the same bytes the
manifest names; the torch backend then reads those bytes' weights (see ``mlp_program``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from servekit.constants import MODEL_FILENAME
from servekit.container.mlp_program import MlpProgram, read_program
from servekit.container.providers import choose_providers
from servekit.container.settings import ContainerSettings
from servekit.runtime.catalog import discover
from servekit.runtime.errors import ModelLoadError
from servekit.runtime.loader import load_model
from servekit.runtime.model import LoadedModel

__all__ = ["InferenceBackend", "OnnxBackend", "TorchBackend", "load_backend", "model_folder"]

Probabilities = npt.NDArray[np.float32]


class InferenceBackend(Protocol):
    model: LoadedModel

    def predict(self, batch: npt.NDArray[Any]) -> Probabilities:
        """Class probabilities for ``batch``, one row per input row (called from a thread)."""
        ...

    def describe(self) -> dict[str, Any]:
        """What runs the model (backend, providers or device), for ``/ping`` and metadata."""
        ...


class OnnxBackend:
    def __init__(self, model: LoadedModel, requested_providers: list[str]) -> None:
        self.model = model
        self.requested_providers = requested_providers

    def predict(self, batch: npt.NDArray[Any]) -> Probabilities:
        return self.model.predict(batch).probabilities

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

    def predict(self, batch: npt.NDArray[Any]) -> Probabilities:
        torch = self._torch
        with torch.inference_mode():
            x = torch.as_tensor(np.ascontiguousarray(batch, np.float32), device=self.device)
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


def model_folder(settings: ContainerSettings) -> Path:
    """The folder of the served model: ``settings.model`` under ``model_dir``, or the one
    model there (or ``model_dir`` itself, as SageMaker unpacks a model artifact)."""
    names = (settings.model,) if settings.model is not None else ()
    return discover(settings.model_dir, names)[0]


def load_backend(settings: ContainerSettings) -> InferenceBackend:
    folder = model_folder(settings)
    if settings.backend == "torch":
        return _torch_backend(folder, settings)
    import onnxruntime as ort

    providers = choose_providers(settings.providers, ort.get_available_providers())
    model = load_model(folder, settings.intra_op_threads, providers)
    return OnnxBackend(model, providers)


def _torch_backend(folder: Path, settings: ContainerSettings) -> TorchBackend:
    try:
        import torch
    except ImportError:
        raise ModelLoadError(
            "SERVEKIT_CONTAINER_BACKEND=torch but PyTorch is not installed in this image"
        ) from None
    device = settings.torch_device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    elif device == "cuda" and not torch.cuda.is_available():
        raise ModelLoadError("SERVEKIT_CONTAINER_TORCH_DEVICE=cuda but torch sees no CUDA device")
    torch.set_num_threads(settings.intra_op_threads)
    # The checksum-verified onnxruntime load also checks the graph's signature.
    model = load_model(folder, settings.intra_op_threads)
    manifest = model.manifest
    program = read_program(
        folder / MODEL_FILENAME, manifest.input.name, manifest.probabilities_output
    )
    return TorchBackend(model, program, torch, device)


def _tensor(torch: Any, value: npt.NDArray[np.float32] | None, device: Any) -> Any:
    return None if value is None else torch.as_tensor(value, device=device)
