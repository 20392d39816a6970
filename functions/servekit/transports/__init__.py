"""How requests reach the dataplane: the Lambda fast path and the FastAPI app."""
