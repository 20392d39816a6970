"""cdk-nag (AWS Solutions rules) for the app, and every finding acknowledged with its reason.

One module per capability, like ``infra.constructs`` and ``infra.config``: ``inference``
(the HTTP API), ``cache``, ``jobs``, ``batch``, ``streams``, ``gpu``, ``registry``,
``monitoring`` and ``rollouts`` each hold that capability's accepted findings, scoped to the
narrowest construct, each with a reason that says why the finding is accepted, and each
expose ``acknowledge_findings(stack, ack)`` (a no-op when the capability is off). ``base``
holds the rule pack (:func:`add_nag_checks`), the findings every function shares (X-Ray's
wildcard, the pinned runtime) and the helpers. Sessions add nothing of their own: their
functions' findings are the shared ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from infra.nag import batch, cache, gpu, inference, jobs, monitoring, registry, rollouts, streams
from infra.nag.base import (
    Acknowledged,
    Acknowledger,
    acknowledge_function_findings,
    add_nag_checks,
)

if TYPE_CHECKING:
    from infra.stacks.inference_stack import InferenceStack

__all__ = ["Acknowledged", "acknowledge_inference_findings", "add_nag_checks"]

# Each capability's acknowledgements, applied after the shared function findings.
_CAPABILITIES = (jobs, cache, inference, gpu, batch, streams, registry, rollouts, monitoring)


def acknowledge_inference_findings(stack: InferenceStack) -> list[Acknowledged]:
    """Acknowledge the inference stack's accepted findings; return them for reporting."""
    ack = Acknowledger()
    acknowledge_function_findings(stack, ack)
    for capability in _CAPABILITIES:
        capability.acknowledge_findings(stack, ack)
    return ack.done
