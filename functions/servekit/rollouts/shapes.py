"""Names the rollouts share with the registry, the inference service, infra and the local stack.

The registry's alias item carries an optional ``rollout`` attribute: the JSON of one
:class:`~servekit.rollouts.plan.RolloutPlan`, opaque to the registry. The metric names below
are the shadow runner's; the served figures the evaluator judges are the service metrics.
"""

from __future__ import annotations

from typing import Final, Literal, TypeAlias

from servekit.observability import names

__all__ = [
    "ALIAS_ROLLOUT_FIELD",
    "DIMENSION_MODEL",
    "DIMENSION_SERVICE",
    "DIMENSION_VERSION",
    "ENV_ROLLOUTS_SHADOW_QUEUE",
    "ENV_ROLLOUTS_SHADOW_WORKERS",
    "ENV_ROLLOUTS_STORE",
    "EVALUATOR_HANDLER",
    "KEY_HEADER",
    "METRIC_SHADOW_AGREEMENT",
    "METRIC_SHADOW_DIFFERENCE",
    "METRIC_SHADOW_DROPPED",
    "METRIC_SHADOW_ERRORS",
    "METRIC_SHADOW_LATENCY",
    "MODES",
    "Action",
    "Mode",
]

# The alias item's attribute holding the plan (registry side: stored and returned as is).
ALIAS_ROLLOUT_FIELD: Final = "rollout"
# The request header a client sets to stay on one version (else the request's session id).
KEY_HEADER: Final = "x-servekit-key"

Mode: TypeAlias = Literal["canary", "ab", "shadow"]
MODES: Final[tuple[Mode, ...]] = ("canary", "ab", "shadow")
Action: TypeAlias = Literal["advance", "hold", "rollback", "complete"]

# Served figures per version are the service metrics (observability/names.py: Requests,
# Errors4xx/5xx, Latency per service, capability, model, version): the evaluator reads those.
# Shadow runs, per candidate version, with the same names for the dimensions they share.
DIMENSION_MODEL: Final = names.MODEL
DIMENSION_VERSION: Final = names.VERSION
DIMENSION_SERVICE: Final = names.SERVICE
METRIC_SHADOW_AGREEMENT: Final = "ShadowAgreement"  # percent of rows with the same label
METRIC_SHADOW_DIFFERENCE: Final = "ShadowValueDifference"  # largest |incumbent - shadow|
METRIC_SHADOW_LATENCY: Final = "ShadowLatency"
METRIC_SHADOW_ERRORS: Final = "ShadowErrors"
METRIC_SHADOW_DROPPED: Final = "ShadowDropped"  # the shadow queue was full

# "module:callable" returning the evaluator's RolloutStore (the registry's, once connected).
ENV_ROLLOUTS_STORE: Final = "SERVEKIT_ROLLOUTS_STORE"
ENV_ROLLOUTS_SHADOW_WORKERS: Final = "SERVEKIT_ROLLOUTS_SHADOW_WORKERS"
ENV_ROLLOUTS_SHADOW_QUEUE: Final = "SERVEKIT_ROLLOUTS_SHADOW_QUEUE"
EVALUATOR_HANDLER: Final = "servekit.handlers.rollout_evaluator.handler"
