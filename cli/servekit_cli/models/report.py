"""What ``servekit models add`` prints: the model's signature, its task and how it was
decided, the smoke answer, and the requests it accepts (``/predict``, the Open Inference
Protocol's ``/v2/models/NAME/infer``) with a ``curl`` that works against ``servekit serve``."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import numpy as np

from servekit.v2.shapes import DATATYPES
from servekit_cli.models.add import EXAMPLE_FILENAME, Added
from servekit_cli.models.inspect import describe

__all__ = ["report", "v2_body"]

_SHOWN_CHARS = 600  # longer example bodies are shown by their file


def v2_body(added: Added, rows: int = 1) -> dict[str, Any]:
    """The V2 infer request for the first ``rows`` generated rows: flat ``data``, full shape."""
    tensors = []
    for spec in added.manifest.inputs:
        values = added.request_inputs[spec.name][:rows]
        shape = list(np.asarray(values, dtype=object).shape)
        tensors.append(
            {
                "name": spec.name,
                "shape": shape,
                "datatype": DATATYPES[spec.dtype],
                "data": np.ravel(np.asarray(values, dtype=object)).tolist(),
            }
        )
    return {"inputs": tensors}


def report(added: Added, url: str, model_dir: Path) -> str:
    """The text printed after a model was added; ``url`` is where ``servekit serve`` runs."""
    manifest, name = added.manifest, added.manifest.name
    example = added.folder / EXAMPLE_FILENAME
    predict = json.dumps(json.loads(example.read_text()), separators=(",", ":"))
    v2 = json.dumps(v2_body(added), separators=(",", ":"))
    curl = (
        f"curl -s -X POST {url}/predict -H 'content-type: application/json' "
        f"-d @{shlex.quote(str(example))}"
    )
    lines = [
        f"added {name} {manifest.version} to {added.folder} (sha256 {manifest.sha256[:12]})",
        f"  inputs:  {describe(manifest.inputs)}",
        f"  outputs: {describe(manifest.outputs)}",
        f"  task:    {manifest.task} ({added.decision.why}); "
        "pass --task classification|regression|embedding|tensor to choose another",
    ]
    if manifest.task == "classification":
        labels = ", ".join(manifest.labels) or "none recorded (the graph's label output per row)"
        lines.append(f"  labels:  {labels}")
    answer = json.dumps(added.body, separators=(",", ":"))
    lines += [
        "",
        f"smoke inference on {len(next(iter(added.request_inputs.values())))} generated rows "
        "(what POST /predict answers):",
        f"  {_shown(answer)}",
        "",
        f"POST /predict takes (saved as {example}):",
        f"  {_shown(predict)}",
        f"POST /v2/models/{name}/infer (Open Inference Protocol) takes:",
        f"  {_shown(v2)}",
        "",
        "Serve it and call it (a running server loads its models when it starts: restart it):",
        f"  servekit serve --model-dir {shlex.quote(str(model_dir))}",
        f"  {curl}",
    ]
    return "\n".join(lines)


def _shown(text: str) -> str:
    return text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + " ... (truncated)"
