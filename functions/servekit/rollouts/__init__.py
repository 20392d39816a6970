"""Rollouts at the model level: sticky A/B, canary with automatic rollback, shadow traffic.

The registry stores a :class:`~servekit.rollouts.plan.RolloutPlan` as the alias item's
``rollout`` map; its watcher loads the plan's candidate beside the incumbent
(:class:`~servekit.rollouts.chooser.ServedVersions`), and the inference service routes each
request through :class:`~servekit.rollouts.serving.RolloutServing` (choose, run, record,
shadow). The evaluator (:func:`~servekit.rollouts.runner.evaluate_rollouts`, scheduled by
``handlers/rollout_evaluator.py``) reads per-version figures and advances, holds, completes or
rolls back each plan. Nothing is imported here: importing ``servekit.rollouts.snapstart``
from the inference handler must not pull the rest in.
"""

__all__: list[str] = []
