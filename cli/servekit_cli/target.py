"""Where the CLI sends its work: the local stack, or a deployed stack with AWS credentials.

The local stack describes itself in ``.servekit/local.json``, written by the first
``servekit serve`` running in the current directory (servers started beside it leave the file
to it; see :mod:`servekit_cli.local.state`); a deployed one through its CloudFormation
outputs. Either way the CLI gets the same output keys, the API's URL, and makes boto3 clients
with :meth:`Target.client`.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from servekit_cli.http import ApiClient
from servekit_cli.local.state import DEFAULT_STATE_FILE, read_state

__all__ = [
    "API_URL_OUTPUT",
    "DEFAULT_LOCAL_API_URL",
    "Target",
    "TargetError",
    "add_target_arguments",
    "resolve_target",
    "stack_name",
    "target_from_args",
]

API_URL_OUTPUT = "ApiUrl"
"""The deployed stack's output naming its HTTP API (``infra.constants``; pinned by a test)."""
DEFAULT_LOCAL_API_URL = "http://127.0.0.1:8000"
"""The local API when the state file does not name one (a stack started without a server)."""
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
    api_url: str | None = None
    """The HTTP API: the local server's URL, or the deployed stack's ``ApiUrl`` output."""

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

    def api(self, url: str | None = None) -> ApiClient:
        """The HTTP API at ``url`` (``--api-url``) or the stack's own; a deployed stack's
        requests are SigV4-signed with the caller's credentials (IAM authorization)."""
        base = url or self.api_url
        if not base:
            where = "the local stack" if self.is_local else "the deployed stack"
            raise TargetError(f"{where} names no HTTP API ({API_URL_OUTPUT!r}): pass --api-url")
        return ApiClient(base, region=None if self.is_local else self.region)

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(service, **self._boto_arguments())

    def resource(self, service: str) -> Any:
        """A boto3 *resource* (DynamoDB items as plain Python values)."""
        import boto3

        return boto3.resource(service, **self._boto_arguments())

    def _boto_arguments(self) -> dict[str, Any]:
        if self.endpoint_url is None:
            return {"region_name": self.region}
        return {"region_name": self.region, "endpoint_url": self.endpoint_url, **_LOCAL_CREDENTIALS}


def resolve_target(
    *,
    local: bool,
    stage: str = "dev",
    region: str | None = None,
    state_file: Path = DEFAULT_STATE_FILE,
) -> Target:
    """The local stack (``local=True``) or the deployed stack of ``stage``."""
    if local:
        try:
            state = read_state(state_file)
        except (OSError, ValueError) as exc:
            raise TargetError(f"cannot read {state_file} ({exc}): restart `make run`") from None
        if state is None:
            raise TargetError(
                f"no local stack found ({state_file} is missing): start one with `make run`"
            )
        if not state.alive():
            raise TargetError(
                f"the local stack in {state_file} is not running (its embedded AWS at "
                f"{state.endpoint_url} does not answer; its server was stopped without "
                "cleaning up): start one with `make run`"
            )
        return Target(
            region=state.region,
            outputs=dict(state.outputs),
            endpoint_url=state.endpoint_url,
            api_url=state.api_url or DEFAULT_LOCAL_API_URL,
        )
    import boto3

    cloudformation = boto3.client("cloudformation", region_name=region)
    name = stack_name(stage)
    try:
        stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    except Exception as exc:  # botocore's ClientError, NoCredentialsError...
        raise TargetError(f"cannot read stack {name}: {exc}") from None
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    return Target(
        region=cloudformation.meta.region_name,
        outputs=outputs,
        api_url=outputs.get(API_URL_OUTPUT),
    )


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """``--aws``/``--stage``/``--region``: every CLI command picks its stack the same way."""
    parser.add_argument(
        "--aws",
        action="store_true",
        help="a deployed stack (AWS credentials), not the local one; the local stack is the "
        "first `servekit serve` running in this directory, which owns .servekit/local.json "
        "(servers started beside it do not take it over; see `servekit serve --help`)",
    )
    parser.add_argument(
        "--stage", default=None, help="the deployed stack's stage (implies --aws; default dev)"
    )
    parser.add_argument("--region", default=None, help="AWS region of the deployed stack")


def target_from_args(args: argparse.Namespace) -> Target:
    """The stack ``add_target_arguments``' options name: local unless --aws or --stage."""
    deployed = bool(args.aws or args.stage)
    return resolve_target(local=not deployed, stage=args.stage or "dev", region=args.region)
