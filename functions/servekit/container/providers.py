"""onnxruntime execution providers, chosen at start-up from what the installed build offers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from servekit.settings import SettingsError

__all__ = ["CPU", "CUDA", "PREFERRED", "TENSORRT", "choose_providers"]

TENSORRT: Final = "TensorrtExecutionProvider"
CUDA: Final = "CUDAExecutionProvider"
CPU: Final = "CPUExecutionProvider"
# Fastest first; onnxruntime assigns each graph node to the first provider that supports it.
PREFERRED: Final = (TENSORRT, CUDA)


def choose_providers(requested: Sequence[str], available: Sequence[str]) -> list[str]:
    """The providers to create the session with, CPU always last as the fallback.

    ``requested`` empty means automatic: TensorRT and CUDA when this onnxruntime build has
    them (onnxruntime-gpu), else CPU alone. A requested provider the build lacks is a
    start-up error, not a silent CPU fallback: a "GPU" endpoint running on CPU would be
    slow and expensive and nobody would notice.
    """
    if requested:
        missing = [p for p in requested if p not in available]
        if missing:
            raise SettingsError(
                f"execution provider(s) {missing} requested but this onnxruntime build offers "
                f"only {list(available)} (install onnxruntime-gpu for CUDA/TensorRT)"
            )
        chosen = list(dict.fromkeys(requested))
    else:
        chosen = [p for p in PREFERRED if p in available]
    if CPU not in chosen:
        chosen.append(CPU)
    return chosen
