"""The Open Inference Protocol (KServe V2 REST), the protocol Triton, KServe, MLServer and their
clients speak, over the models the inference path serves.

Files, as in every capability: ``shapes`` (datatypes, headers, the protocol's names), ``codec``
(infer requests in, JSON tensors and the binary tensor data extension; responses out),
``service`` (metadata, health, infer through the catalog and ``LoadedModel.run``), ``routes``
(declared once, bound into the inference Router), ``openapi`` (the routes' documentation),
``errors`` (the protocol's ``{"error": "..."}`` body).
"""
