"""The Open Inference Protocol (KServe V2 REST), the protocol Triton, KServe, MLServer and their
clients speak, over the models the inference path serves (docs/v2.md).

Files, as in every capability: ``shapes`` (datatypes, headers, the protocol's names), ``codec``
(the wire format: the binary tensor data extension, tensors for the runtime's validation,
responses; ``request`` reads the JSON request's fields for it), ``service`` (metadata, health,
infer through the catalog and ``LoadedModel.run``), ``routes`` (declared once), ``wiring``
(included in the inference Router), ``openapi`` (the routes' documentation), ``errors`` (the
protocol's ``{"error": "..."}`` body).
"""
