"""Lambda entry points. Thin: build the service once per cold start, then hand events on."""
