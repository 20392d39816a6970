"""``servekit models add``: the command line over :func:`servekit_cli.models.add.add_model`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from servekit_cli.commands import CommandError, one_line_errors
from servekit_cli.models.add import DEFAULT_DIR, add_model
from servekit_cli.models.arguments import add_model_arguments, model_options
from servekit_cli.models.registry_command import add_registry_parsers
from servekit_cli.models.report import report

__all__ = ["add_parser"]

_ADD_DESCRIPTION = """\
Add an ONNX model to the folder servekit serves: inspect it with onnxruntime, write
DIR/NAME/ (model.onnx, manifest.json with its sha256, example_request.json), run one smoke
inference through the serving path, and print the requests it accepts. Nothing is written
when the model is refused; the message says what to do. See docs/models.md.
"""


def add_parser(commands: Any) -> None:
    models = commands.add_parser(
        "models", help="add your own ONNX models; push, promote and roll back registry versions"
    )
    actions = models.add_subparsers(dest="models_command", required=True)
    add = actions.add_parser(
        "add",
        help="add an ONNX model to the served folder",
        description=_ADD_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_model_arguments(add)
    add.add_argument(
        "--into",
        type=Path,
        default=DEFAULT_DIR,
        metavar="DIR",
        help=f"the model folder (default: {DEFAULT_DIR}, where `servekit serve`, `make run` "
        "and the CDK stack look)",
    )
    add.add_argument("--force", action="store_true", help="replace DIR/NAME if it exists")
    add.add_argument(
        "--reference",
        type=Path,
        default=None,
        metavar="DATA.jsonl",
        help="reference data (one /predict body or one row per line, e.g. held-out rows): "
        "profiled into reference_profile.json, what the drift job compares traffic with",
    )
    add.add_argument(
        "--url",
        default="http://127.0.0.1:8000",
        help="the server the printed curl calls (default: servekit serve's)",
    )
    add.set_defaults(run=one_line_errors(_run, "models add"))
    add_registry_parsers(actions)  # push, list, promote, rollback, history


def _reference(path: Path | None) -> Any:
    if path is None:
        return None
    from servekit.monitoring.reference import reference_rows

    try:
        with path.open(encoding="utf-8") as lines:
            rows = reference_rows(lines)
    except (OSError, ValueError) as exc:
        raise CommandError(f"--reference {path}: {exc}") from None
    if not rows:
        raise CommandError(f"--reference {path}: no rows")
    return rows


def _run(args: argparse.Namespace) -> int:
    options = model_options(args, force=args.force, reference=_reference(args.reference))
    added = add_model(args.path, args.into, options)
    print(report(added, args.url.rstrip("/"), args.into))
    return 0
