"""The rollout evaluator, on a schedule (EventBridge): judge every active rollout once.

Built at import: the rollout store (``SERVEKIT_ROLLOUTS_STORE``, the registry's) and the
CloudWatch reader of the per-version metrics.
"""

from __future__ import annotations

from typing import Any

import boto3

from servekit.observability import logger
from servekit.rollouts.readers import CloudWatchReader
from servekit.rollouts.runner import evaluate_rollouts
from servekit.rollouts.wiring import rollout_store

__all__ = ["handler"]

store = rollout_store()
reader = CloudWatchReader(boto3.client("cloudwatch"))


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    decided = evaluate_rollouts(store, reader)
    return {
        "evaluated": [
            {
                "model": rollout.name,
                "alias": rollout.alias,
                "candidate": rollout.plan.candidate,
                "action": decision.action,
                "reason": decision.reason,
            }
            for rollout, decision in decided
        ]
    }
