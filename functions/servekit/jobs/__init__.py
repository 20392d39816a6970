"""Asynchronous inference jobs: POST /jobs or a message on SQS → worker → result.

The capability template (docs/architecture.md): ``shapes`` (resource shapes shared with infra
and the local run), ``settings``, ``wiring`` (builds the service and the worker), ``codec``,
``routes``, ``openapi``, ``service`` (the HTTP side), ``message`` (the versioned queue message
and its JSON Schema in ``schema/``), ``store`` (DynamoDB), ``records``, ``bucket`` (results in
S3), ``worker`` (one delivery's messages, for the shared SQS consumer), ``metrics``;
``callbacks`` (completion notices) and ``redrive`` (the DLQ).
This module imports nothing heavy: import the submodule you need.
"""

from servekit.jobs.shapes import JobStatus

__all__ = ["JobStatus"]
