"""Every capability's local provisioner, run in order by ``LocalStack``."""

from __future__ import annotations

from servekit_cli.local import batch, jobs, monitoring, registry, streams
from servekit_cli.local.resources import Provisioner
from servekit_cli.local.sessions import provision_sessions

__all__ = ["PROVISIONERS"]

PROVISIONERS: list[Provisioner] = [
    provision_sessions,
    batch.provision,
    jobs.provision,
    streams.provision,
    registry.provision,
    monitoring.provision,
]
