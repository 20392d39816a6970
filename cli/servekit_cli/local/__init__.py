"""The local AWS: an embedded moto server, the capabilities' resources in it, and SQS pollers
that feed real Lambda SQS events to the same worker handlers that run in AWS."""

__all__: list[str] = []
