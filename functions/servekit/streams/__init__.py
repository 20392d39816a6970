"""Streaming inference on Kinesis: records of a shard in order, results to an output stream,
poison records to the on-failure queue with their reason (``docs/streams.md``)."""

from __future__ import annotations

__all__: list[str] = []
