"""Stateful sessions: personalised predictions from a per-session history kept in DynamoDB.

The capability template (docs/architecture.md): ``shapes`` (names shared with infra),
``settings``, ``wiring`` (builds the service and the events worker), ``codec``, ``routes``,
``openapi``, ``service``; ``events`` (validation), ``records`` and ``migration`` (the stored
state and its versions), ``store`` (DynamoDB, optimistic concurrency), ``model`` (history
encoding + inference), ``errors``, ``metrics``; for the hybrid path, ``message`` (the SQS
message format), ``forwarding`` (its sender, used by inference) and ``worker`` (its queue
logic). Nothing here imports boto3 at import time.
"""
