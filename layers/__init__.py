"""The Lambda layer of third-party runtime dependencies (see layers/build_layer.py)."""
