"""``servekit models add``: bring your own ONNX model (see docs/models.md)."""
