"""onnxruntime session creation with explicit, sandbox-safe threading."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import onnxruntime as ort

__all__ = ["CPU_PROVIDERS", "create_session"]

CPU_PROVIDERS: tuple[str, ...] = ("CPUExecutionProvider",)


def create_session(
    model_path: Path, intra_op_threads: int, providers: Sequence[str] = CPU_PROVIDERS
) -> ort.InferenceSession:
    """Create an inference session (CPU unless ``providers`` says otherwise) with explicit
    thread counts.

    Thread counts are always set: left at 0, onnxruntime sizes its pool from the host's cores
    and pins threads to them, which fails or thrashes in Lambda's CPU-limited sandbox.
    """
    options = ort.SessionOptions()
    options.intra_op_num_threads = intra_op_threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Spinning workers burn the function's CPU share between requests for no gain.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # errors only: warnings would land in every cold start's logs
    return ort.InferenceSession(str(model_path), sess_options=options, providers=list(providers))
