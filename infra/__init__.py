"""servekit's CDK app (Python, aws-cdk-lib v2).

One construct per capability (``infra.constructs``), stacks that compose them
(``infra.stacks``), a typed config parsed from the ``servekit`` context in ``cdk.json``
(``infra.config``) and the cdk-nag checks with their acknowledged findings (``infra.nag``).
The entry point is ``infra.app`` (``cdk.json`` runs ``python -m infra.app``).
"""
