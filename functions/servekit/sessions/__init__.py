"""Stateful sessions: personalised predictions from a per-session history kept in DynamoDB.

``shapes`` (names shared with infra), ``events`` (validation), ``records`` and ``migration``
(the stored state and its versions), ``store`` (DynamoDB, optimistic concurrency), ``model``
(history encoding + inference), ``service`` (what the routes do), ``forwarding`` (the hybrid
path's SQS sender) and ``worker`` (its consumer). Nothing here imports boto3 at import time.
"""
