"""Batch inference: an input file in S3 → chunks on SQS → vectorized workers → part files in S3.

``shapes`` holds the resource shapes (table keys, statuses, S3 layout, env names) shared with
``infra/`` and the local provisioner; ``service`` is what the HTTP routes, the CLI and the
schedule call; ``splitter`` and ``worker`` are what the queue handlers run (through the shared
SQS consumer); ``store`` is the batch's DynamoDB records, ``bucket`` its S3 objects (inputs,
chunk arrays, part files and the output index).
"""

__all__: list[str] = []
