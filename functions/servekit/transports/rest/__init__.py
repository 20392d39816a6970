"""The FastAPI transport (local server, and Mangum in Lambda for non-hot routes)."""

from servekit.transports.rest.app import create_app

__all__ = ["create_app"]
