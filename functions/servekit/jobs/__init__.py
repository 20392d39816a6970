"""Asynchronous inference jobs: POST /jobs or a message on SQS → worker → result.

Split by role: ``constants`` (resource shapes shared with infra and the local run),
``message`` (the versioned queue message and its JSON Schema in ``schema/``), ``codec`` and
``service`` (the HTTP side), ``store`` (DynamoDB), ``results`` (S3), ``callbacks``, ``worker``
(SQS batches), ``redrive`` (the DLQ), ``bootstrap`` (wiring from the environment).
This module imports nothing heavy: import the submodule you need.
"""

from servekit.jobs.shapes import JobStatus

__all__ = ["JobStatus"]
