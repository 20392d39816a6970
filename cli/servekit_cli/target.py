"""Where the CLI sends its work: the local stack, or a deployed stack with AWS credentials.

The local stack describes itself in ``.servekit/local.json`` (written by ``servekit serve``);
a deployed one through its CloudFormation outputs. Either way the CLI gets the same output keys
and makes boto3 clients with :meth:`Target.client`.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from servekit_cli.local.stack import DEFAULT_STATE_FILE

__all__ = [
    "Target",
    "TargetError",
    "add_target_arguments",
    "resolve_target",
    "stack_name",
    "target_from_args",
]

_LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


class TargetError(RuntimeError):
    """The stack to talk to cannot be found; the message says what to do."""


def stack_name(stage: str) -> str:
    """The deployed stack's name (``infra.constants.inference_stack_name``; pinned by a test)."""
    return f"Servekit-{stage}-Inference"


@dataclass(frozen=True, slots=True)
class Target:
    region: str
    outputs: dict[str, str] = field(default_factory=dict)
    endpoint_url: str | None = None
    """The emulator's URL for the local stack; ``None`` for AWS itself."""

    @property
    def is_local(self) -> bool:
        return self.endpoint_url is not None

    def output(self, key: str) -> str:
        try:
            return self.outputs[key]
        except KeyError:
            where = "the local stack" if self.is_local else "the deployed stack"
            raise TargetError(
                f"{where} has no output {key!r} (is that capability enabled?); "
                f"it has: {sorted(self.outputs)}"
            ) from None

    def client(self, service: str) -> Any:
        import boto3

        if self.endpoint_url is None:
            return boto3.client(service, region_name=self.region)
        return boto3.client(
            service, region_name=self.region, endpoint_url=self.endpoint_url, **_LOCAL_CREDENTIALS
        )


def resolve_target(
    *,
    local: bool,
    stage: str = "dev",
    region: str | None = None,
    state_file: Path = DEFAULT_STATE_FILE,
) -> Target:
    """The local stack (``local=True``) or the deployed stack of ``stage``."""
    if local:
        if not state_file.is_file():
            raise TargetError(
                f"no local stack found ({state_file} is missing): start one with `make run`"
            )
        state = json.loads(state_file.read_text())
        return Target(
            region=state["region"],
            outputs=dict(state["outputs"]),
            endpoint_url=state["endpoint_url"],
        )
    import boto3

    cloudformation = boto3.client("cloudformation", region_name=region)
    name = stack_name(stage)
    try:
        stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    except Exception as exc:  # botocore's ClientError, NoCredentialsError...
        raise TargetError(f"cannot read stack {name}: {exc}") from None
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    return Target(region=cloudformation.meta.region_name, outputs=outputs)


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """``--aws``/``--stage``/``--region``: every CLI command picks its stack the same way."""
    parser.add_argument(
        "--aws", action="store_true", help="a deployed stack (AWS credentials), not the local one"
    )
    parser.add_argument(
        "--stage", default=None, help="the deployed stack's stage (implies --aws; default dev)"
    )
    parser.add_argument("--region", default=None, help="AWS region of the deployed stack")


def target_from_args(args: argparse.Namespace) -> Target:
    """The stack ``add_target_arguments``' options name: local unless --aws or --stage."""
    deployed = bool(args.aws or args.stage)
    return resolve_target(local=not deployed, stage=args.stage or "dev", region=args.region)
