"""servekit runtime: the code shipped to AWS Lambda and to the SageMaker container.

Layering (outermost first), after MLServer:
    handlers/    Lambda entry points: parse the event, call a transport
    transports/  HTTP contract: the Lambda fast path and the FastAPI app
    inference/   the synchronous path: codec, service, routes (and each capability alike)
    runtime/     model manifests, loading, onnxruntime sessions, the registry
"""

__version__ = "0.1.0"
