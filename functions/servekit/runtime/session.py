"""onnxruntime session creation with explicit, sandbox-safe threading."""

from __future__ import annotations

from pathlib import Path

import onnxruntime as ort

__all__ = ["create_session"]


def create_session(model_path: Path, intra_op_threads: int) -> ort.InferenceSession:
    """Create a CPU inference session with explicit thread counts.

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
    return ort.InferenceSession(
        str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
    )
