"""``servekit`` command: ``servekit serve`` runs the inference API locally, ``servekit models
add`` adds your own ONNX model to it."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from servekit_cli import batch, drift, jobs, serve, stream
from servekit_cli.models import command as models

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="servekit", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve.add_parser(commands)
    batch.add_parser(commands)
    jobs.add_parser(commands)  # `servekit jobs ...` and `servekit dlq ...`
    stream.add_parser(commands)  # `servekit stream put|tail|failures`
    models.add_parser(commands)  # `servekit models add ...`
    drift.add_parser(commands)  # `servekit drift report` and `servekit feedback`
    args = parser.parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
