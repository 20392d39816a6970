"""Builds the container from settings: the model's backend, the service, the ASGI app.

Everything here runs at start-up, before the port opens: a model that cannot be found or
loaded stops the server (``python -m servekit.container`` exits 2), it never fails requests.
"""

from __future__ import annotations

from pathlib import Path

from servekit.constants import MODEL_FILENAME
from servekit.container.app import ContainerApp
from servekit.container.backends import InferenceBackend, OnnxBackend, TorchBackend
from servekit.container.mlp_program import read_program
from servekit.container.providers import choose_providers
from servekit.container.service import ContainerService
from servekit.container.settings import ContainerSettings
from servekit.runtime.catalog import discover
from servekit.runtime.errors import ModelLoadError
from servekit.runtime.loader import load_model

__all__ = ["build_app", "build_service", "load_backend", "model_folder"]


def build_app(settings: ContainerSettings | None = None) -> ContainerApp:
    """Load the model and build the ASGI app (``settings`` default: ``SERVEKIT_CONTAINER_*``)."""
    return ContainerApp(build_service(settings))


def build_service(settings: ContainerSettings | None = None) -> ContainerService:
    settings = settings or ContainerSettings.from_env()
    return ContainerService(load_backend(settings), settings)


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
    return OnnxBackend(model, providers)  # any model: rows batched for classifiers only


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
    if not manifest.row_classifier or manifest.probabilities_output is None:
        raise ModelLoadError(f"{manifest.name}: the torch backend serves single-input classifiers")
    program = read_program(
        folder / MODEL_FILENAME, manifest.input.name, manifest.probabilities_output
    )
    return TorchBackend(model, program, torch, device)
