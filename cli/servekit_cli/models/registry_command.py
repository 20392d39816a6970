"""``servekit models push|list|promote|rollback|rollout|history``: the registry's commands.

Local stack by default (``make run``), ``--aws``/``--stage`` for a deployed one, like every
command. See docs/registry.md.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from servekit.registry.errors import RegistryError
from servekit.registry.shapes import DEFAULT_ALIAS
from servekit_cli.commands import CommandError, one_line_errors
from servekit_cli.models.arguments import add_model_arguments, model_options
from servekit_cli.models.registry_actions import Registry, default_actor, describe_change
from servekit_cli.models.rollout_actions import (
    abort_rollout,
    describe_plan,
    parse_steps,
    start_rollout,
)
from servekit_cli.target import add_target_arguments, target_from_args

__all__ = ["add_registry_parsers"]


def add_registry_parsers(actions: Any) -> None:
    push = _command(actions, "push", "check a model as `models add` does and push a version")
    add_model_arguments(push)
    push.add_argument("--notes", default="", help="kept with the version")
    listing = _command(actions, "list", "versions in the registry, with their aliases")
    listing.add_argument("name", nargs="?", default=None)
    promote = _command(actions, "promote", "point an alias at a version (conditional write)")
    promote.add_argument("name")
    promote.add_argument("version")
    rollback = _command(actions, "rollback", "point an alias back at its previous version")
    rollback.add_argument("name")
    rollout = _command(actions, "rollout", "canary, A/B or shadow a version beside the alias's")
    rollout.add_argument("name")
    rollout.add_argument("version", nargs="?", default=None)
    mode = rollout.add_mutually_exclusive_group()
    mode.add_argument("--canary", type=float, default=None, metavar="PERCENT")
    mode.add_argument("--ab", type=float, default=None, metavar="WEIGHT")
    mode.add_argument("--shadow", type=float, default=None, metavar="RATE")
    mode.add_argument("--abort", action="store_true", help="end the rollout (incumbent stays)")
    rollout.add_argument("--steps", default=None, metavar="P1,P2,...", help="canary steps")
    rollout.add_argument(
        "--min-requests", type=int, default=None, metavar="N",
        help="candidate requests before each judgement (default 100)",
    )  # fmt: skip
    rollout.add_argument(
        "--max-p99-ratio", type=float, default=None, metavar="X",
        help="roll back when the candidate's p99 exceeds the incumbent's X times (default 1.5)",
    )  # fmt: skip
    history = _command(actions, "history", "the audit trail of a model's aliases")
    history.add_argument("name")
    for parser in (promote, rollback, rollout, history):
        parser.add_argument("--alias", default=DEFAULT_ALIAS if parser is not history else None)
    for parser in (promote, rollback, rollout):
        parser.add_argument("--reason", default="", help="kept in the audit trail")
    for parser in (push, promote, rollback, rollout):
        parser.add_argument("--actor", default=None, help="who (default: your identity)")
    for parser, run in (
        (push, _push),
        (listing, _list),
        (promote, _promote),
        (rollback, _rollback),
        (rollout, _rollout),
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
    record = registry.push(args.path, model_options(args), args.actor, args.notes)
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


def _rollout(args: argparse.Namespace, registry: Registry) -> int:
    if args.abort:
        record = abort_rollout(registry.store, args)
        print(f"{args.name}@{args.alias}: rollout aborted; {record.version} serves every request")
        return 0
    if args.version is None:
        raise CommandError("give the VERSION to roll out (or --abort)")
    if args.ab is not None:
        record = start_rollout(registry.store, args, "ab", args.ab, None)
    elif args.shadow is not None:
        record = start_rollout(registry.store, args, "shadow", args.shadow, None)
    else:
        steps = parse_steps(args.canary, args.steps)
        record = start_rollout(registry.store, args, "canary", None, steps)
    print(
        f"{args.name}@{args.alias}: {describe_plan(record.rollout)} beside {record.version} "
        f"(revision {record.revision}); the evaluator advances it or rolls it back"
    )
    return 0


def _history(args: argparse.Namespace, registry: Registry) -> int:
    print("\n".join(registry.history(args.name, args.alias)) or f"no changes to {args.name} yet")
    return 0
