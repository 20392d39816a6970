"""Build servekit's example ONNX models, deterministically.

Trains small scikit-learn classifiers on the digits dataset bundled with scikit-learn (8x8
images, 64 pixel features valued 0..16, classes 0-9; nothing is downloaded), exports them to
ONNX with skl2onnx and writes, for each model, ``<out>/<name>/`` holding:

* ``model.onnx``: one input ``input`` (float32, [None, 64]); outputs ``label`` (int64, [None])
  and ``probabilities`` (float32, [None, 10]);
* ``manifest.json``: name, version, sha256 of ``model.onnx`` and the signature, as read by
  :class:`servekit.runtime.manifest.Manifest`;
* ``example_request.json``: a request body with two rows of the held-out test split, and
  their true labels under ``expected_labels``.

Two builds with the same library versions produce byte-identical files: every random state is
fixed, training runs on one BLAS thread and the ONNX bytes carry no timestamps, paths,
generated names or anything ordered by Python's string hash seed.

Usage::

    python models/build.py --out models/artifacts [--if-changed] [--only NAME ...]

This module is the CLI and the stable import path of the public API; the work is done by
specs (the contract and the :data:`REGISTRY`: adding a model is adding one
:class:`ModelSpec` there), training, export, verification, documents, output and builder.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

if not __package__:  # run as a script: import the package, not models/'s modules as top-level
    _MODELS = Path(__file__).resolve().parent
    if sys.path and Path(sys.path[0] or ".").resolve() == _MODELS:
        del sys.path[0]
    sys.path.insert(0, str(_MODELS.parent))

from models.builder import BuildResult, build, build_model
from models.output import STAMP_FILE, stamp_key
from models.specs import INPUT_NAME, LABEL_OUTPUT, PROBABILITIES_OUTPUT, REGISTRY, ModelSpec
from models.training import load_split

__all__ = [
    "INPUT_NAME",
    "LABEL_OUTPUT",
    "PROBABILITIES_OUTPUT",
    "REGISTRY",
    "BuildResult",
    "ModelSpec",
    "build",
    "build_model",
    "load_split",
    "main",
    "stamp_key",
]


def main(argv: Sequence[str] | None = None) -> int:
    """The CLI; returns the exit status (1 when a model cannot be built)."""
    parser = argparse.ArgumentParser(
        description="Build servekit's example ONNX models (deterministically)."
    )
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument(
        "--if-changed",
        action="store_true",
        help=f"do nothing when <out>/{STAMP_FILE} shows the same build inputs",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        help=f"build only these models (of: {', '.join(spec.name for spec in REGISTRY)})",
    )
    args = parser.parse_args(argv)
    try:
        return build(args.out, only=args.only, if_changed=args.if_changed)
    except Exception as exc:  # a build script: report, don't dump a traceback by default
        print(f"models/build.py: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        if os.environ.get("SERVEKIT_BUILD_DEBUG"):
            raise
        return 1


if __name__ == "__main__":
    sys.exit(main())
