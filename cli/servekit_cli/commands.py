"""What every ``servekit`` command shares: its errors end it with one line and exit status 2."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from servekit_cli.http import ApiError
from servekit_cli.target import TargetError

__all__ = ["Command", "CommandError", "one_line_errors"]

Command = Callable[[argparse.Namespace], int]


class CommandError(Exception):
    """A command refuses to go on; the message says why and what to do instead."""


def one_line_errors(command: Command, name: str) -> Command:
    """Target and API errors (no local stack, no such output, server unreachable, a 4xx) and
    a command's refusals as one line on stderr naming the command, exit status 2; no
    traceback."""

    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except (ApiError, TargetError, CommandError) as exc:
            print(f"servekit {name}: {exc}", file=sys.stderr)
            return 2

    return run
