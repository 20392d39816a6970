"""``servekit models push|list|promote|rollback|history``: the model registry's commands.

Local stack by default (``make run``), ``--aws``/``--stage`` for a deployed one, like every
command. See docs/registry.md.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from servekit.registry.errors import RegistryError
from servekit.registry.shapes import DEFAULT_ALIAS
from servekit_cli.commands import CommandError, one_line_errors
from servekit_cli.models.add import AddOptions
from servekit_cli.models.registry_actions import Registry, default_actor, describe_change
from servekit_cli.models.shapes import parse_shapes
from servekit_cli.models.tasks import AUTO, read_labels
from servekit_cli.target import add_target_arguments, target_from_args

__all__ = ["add_registry_parsers"]

_TASKS = (AUTO, "classification", "regression", "embedding", "tensor")


def add_registry_parsers(actions: Any) -> None:
    push = _command(actions, "push", "check a model as `models add` does and push a version")
    push.add_argument("path", type=Path, metavar="PATH.onnx")
    push.add_argument("--name", required=True)
    push.add_argument("--version", required=True)
    push.add_argument("--task", choices=_TASKS, default=AUTO)
    push.add_argument("--labels", default=None, metavar="L")
    push.add_argument("--shape", action="append", default=[], metavar="INPUT=D1,D2,...")
    push.add_argument("--description", default="")
    push.add_argument("--notes", default="", help="kept with the version")
    listing = _command(actions, "list", "versions in the registry, with their aliases")
    listing.add_argument("name", nargs="?", default=None)
    promote = _command(actions, "promote", "point an alias at a version (conditional write)")
    promote.add_argument("name")
    promote.add_argument("version")
    rollback = _command(actions, "rollback", "point an alias back at its previous version")
    rollback.add_argument("name")
    history = _command(actions, "history", "the audit trail of a model's aliases")
    history.add_argument("name")
    for parser in (promote, rollback, history):
        parser.add_argument("--alias", default=DEFAULT_ALIAS if parser is not history else None)
    for parser in (promote, rollback):
        parser.add_argument("--reason", default="", help="kept in the audit trail")
    for parser in (push, promote, rollback):
        parser.add_argument("--actor", default=None, help="who (default: your identity)")
    for parser, run in (
        (push, _push),
        (listing, _list),
        (promote, _promote),
        (rollback, _rollback),
        (history, _history),
    ):
        parser.set_defaults(
            run=one_line_errors(_registry_errors(run), f"models {parser.prog.split()[-1]}")
        )


def _command(actions: Any, name: str, text: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = actions.add_parser(name, help=text, description=text)
    add_target_arguments(parser)
    return parser


def _registry_errors(run: Callable[[argparse.Namespace, Registry], int]) -> Any:
    def command(args: argparse.Namespace) -> int:
        target = target_from_args(args)
        if getattr(args, "actor", "") is None:
            args.actor = default_actor(target)
        try:
            return run(args, Registry(target))
        except RegistryError as exc:
            raise CommandError(str(exc)) from None

    return command


def _push(args: argparse.Namespace, registry: Registry) -> int:
    options = AddOptions(
        name=args.name,
        version=args.version,
        task=args.task,
        labels=read_labels(args.labels),
        shapes=parse_shapes(args.shape),
        description=args.description,
    )
    record = registry.push(args.path, options, args.actor, args.notes)
    print(
        f"pushed {record.name} {record.version} (sha256 {record.sha256[:12]}…); "
        f"serve it with: servekit models promote {record.name} {record.version}"
    )
    return 0


def _list(args: argparse.Namespace, registry: Registry) -> int:
    print("\n".join(registry.listing(args.name)) or "no versions pushed yet")
    return 0


def _promote(args: argparse.Namespace, registry: Registry) -> int:
    before = registry.store.alias(args.name, args.alias)
    record = registry.store.promote(
        args.name,
        args.alias,
        args.version,
        actor=args.actor,
        reason=args.reason,
        expected_revision=None if before is None else before.revision,
    )
    print(describe_change(record, None if before is None else before.version))
    return 0


def _rollback(args: argparse.Namespace, registry: Registry) -> int:
    before = registry.store.alias(args.name, args.alias)
    record = registry.store.rollback(
        args.name,
        args.alias,
        actor=args.actor,
        reason=args.reason,
        expected_revision=None if before is None else before.revision,
    )
    print(describe_change(record, None if before is None else before.version))
    return 0


def _history(args: argparse.Namespace, registry: Registry) -> int:
    print("\n".join(registry.history(args.name, args.alias)) or f"no changes to {args.name} yet")
    return 0
