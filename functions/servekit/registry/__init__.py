"""The model registry: versions and aliases in DynamoDB, artifacts in S3, hot swap.

See docs/registry.md. ``store`` and ``bucket`` are what the CLI writes through; ``wiring``
builds the catalog a serving function loads, and ``watcher`` keeps it on the alias.
"""

__all__: list[str] = []
