"""What describes a model on the command line, shared by ``models add`` and ``models push``
(which runs the same checks): the arguments, and the :class:`AddOptions` they make."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from servekit_cli.models.add import AddOptions
from servekit_cli.models.shapes import parse_shapes
from servekit_cli.models.tasks import AUTO, read_labels

__all__ = ["add_model_arguments", "model_options"]

_TASKS = (AUTO, "classification", "regression", "embedding", "tensor")


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """The ONNX file, its name and version, and what its inputs and outputs mean."""
    parser.add_argument("path", type=Path, metavar="PATH.onnx", help="the ONNX file")
    parser.add_argument("--name", required=True, help="the model's name in requests")
    parser.add_argument("--version", required=True, help="its version, e.g. 1.0.0")
    parser.add_argument(
        "--task", choices=_TASKS, default=AUTO, help="what the outputs mean (default: auto)"
    )
    parser.add_argument(
        "--labels",
        default=None,
        metavar="L",
        help="class labels, comma-separated or a file with one per line (classification)",
    )
    parser.add_argument(
        "--shape",
        action="append",
        default=[],
        metavar="INPUT=D1,D2,...",
        help="the dimensions of INPUT after the batch one, each an int or a name (kept "
        "free); needed for each free dimension the graph leaves besides the batch",
    )
    parser.add_argument("--description", default="", help="a line saying what the model does")


def model_options(args: argparse.Namespace, **extra: Any) -> AddOptions:
    """The options :func:`add_model_arguments` parsed, plus the command's own ``extra``."""
    return AddOptions(
        name=args.name,
        version=args.version,
        task=args.task,
        labels=read_labels(args.labels),
        shapes=parse_shapes(args.shape),
        description=args.description,
        **extra,
    )
