"""The whole local stack: emulator + every capability's resources + pollers + a state file.

``servekit serve`` starts one; the CLI finds it again through the state file
(``.servekit/local.json``: the emulator's endpoint and the capabilities' outputs). The file
belongs to one stack at a time, the first one started (see :mod:`servekit_cli.local.state`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from servekit_cli.local.emulator import MotoEmulator
from servekit_cli.local.kinesis_poller import KinesisPoller
from servekit_cli.local.poller import SqsPoller
from servekit_cli.local.resources import LocalResources, ProvisionContext, Provisioner
from servekit_cli.local.state import DEFAULT_STATE_FILE, LocalState, claim_state, release_state

__all__ = ["DEFAULT_STATE_FILE", "LocalStack"]


class LocalStack:
    """Start with :meth:`start`; :attr:`resources` then holds what every provisioner made."""

    def __init__(
        self,
        provisioners: Sequence[Provisioner] | None = None,
        *,
        port: int = 0,
        region: str = "us-east-1",
        state_file: Path | None = DEFAULT_STATE_FILE,
        poll: bool = True,
        api_url: str | None = None,
    ) -> None:
        if provisioners is None:
            from servekit_cli.local.provisioners import PROVISIONERS

            provisioners = PROVISIONERS
        self.provisioners = list(provisioners)
        self.emulator = MotoEmulator(port=port, region=region)
        self.state_file = state_file
        self.poll = poll
        self.api_url = api_url
        self.owns_state_file = False
        self.state_owner: LocalState | None = None
        """The live stack that kept ``state_file`` when this one started (it owns it)."""
        self.resources = LocalResources()
        self.pollers: list[SqsPoller | KinesisPoller] = []

    def start(self) -> LocalStack:
        """Start moto, export its env into this process, provision, start the pollers."""
        self.emulator.start()
        os.environ.update(self.emulator.env)
        import boto3

        session = boto3.Session(region_name=self.emulator.region)
        context = ProvisionContext(session, self.emulator.endpoint_url, self.emulator.region)
        merged = LocalResources()
        for provision in self.provisioners:
            made = provision(context)
            merged.env.update(made.env)
            merged.outputs.update(made.outputs)
            merged.bindings.extend(made.bindings)
            merged.streams.extend(made.streams)
            merged.routers.extend(made.routers)
        self.resources = merged
        os.environ.update(merged.env)
        if self.poll:
            sqs = session.client("sqs", endpoint_url=self.emulator.endpoint_url)
            for binding in merged.bindings:
                poller = SqsPoller(sqs, binding, region=self.emulator.region)
                poller.start()
                self.pollers.append(poller)
            kinesis = session.client("kinesis", endpoint_url=self.emulator.endpoint_url)
            for stream in merged.streams:
                streamer = KinesisPoller(kinesis, sqs, stream, region=self.emulator.region)
                streamer.start()
                self.pollers.append(streamer)
        if self.state_file is not None:
            self.state_owner = claim_state(self.state_file, self.local_state())
            self.owns_state_file = self.state_owner is None
        return self

    def stop(self) -> None:
        for poller in self.pollers:
            poller.stop()
        self.pollers.clear()
        self.emulator.stop()
        if self.owns_state_file and self.state_file is not None:
            release_state(self.state_file, self.local_state())  # only if still ours
            self.owns_state_file = False

    def local_state(self) -> LocalState:
        return LocalState(
            endpoint_url=self.emulator.endpoint_url,
            region=self.emulator.region,
            outputs=dict(self.resources.outputs),
            api_url=self.api_url,
            pid=os.getpid(),
        )

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
