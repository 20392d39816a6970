"""How requests reach the services: the Lambda fast path and the FastAPI app, over one Router."""
