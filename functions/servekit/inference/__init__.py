"""The synchronous inference path (web-single / synchronous patterns): ``/predict`` and friends.

Files, as in every capability: ``settings`` (the shared ``servekit.settings``), ``wiring``
(builds the service), ``codec`` (typed request, prediction body), ``service``, ``routes``
(declared once), ``openapi`` (the routes' OpenAPI documentation), ``metrics``.
"""
