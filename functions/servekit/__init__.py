"""servekit runtime: the code shipped to AWS Lambda and to the SageMaker container.

Layering (outermost first), after MLServer; docs/architecture.md has the whole map:
    handlers/      Lambda entry points: build at import, call a transport or the SQS consumer
    transports/    HTTP: the Router, the Lambda fast path and the FastAPI app
    sqs/           the one SQS consumer and its poison/retry policy
    <capability>/  inference, jobs, batch, sessions, cache, gpu_proxy, container: one template
    runtime/       model manifests, the catalog, checksum-verified loading, onnxruntime sessions
    errors.py      ApiError, at the bottom of the import graph
"""

__version__ = "0.1.0"
