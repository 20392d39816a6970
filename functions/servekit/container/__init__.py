"""The SageMaker serving container: ``GET /ping``, ``POST /invocations`` on port 8080,
adaptive batching in front of an onnxruntime (CUDA/TensorRT/CPU) or torch backend.

Run it with ``python -m servekit.container`` (the image's ``serve`` entrypoint does).
"""

__all__: list[str] = []  # import the submodules: wiring, app, service, backends, settings
