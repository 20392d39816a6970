"""The failure policies: an ensemble's slow and failing branches, deadline propagation, and a
failed step's body never passed on."""

from __future__ import annotations

from typing import Any

import pytest

from servekit.pipelines.executor import Executor
from servekit.pipelines.openapi import PipelineResponse
from servekit.pipelines.service import PipelinesService
from servekit.pipelines.spec import parse_pipelines
from servekit.runtime.catalog import ModelCatalog
from tests.pipeline_steps import MODELS, SLOW_S, Post, load_catalog, poster

ROW = [[0.0] * 64]


def _function(name: str, **extra: Any) -> dict[str, Any]:
    return {"kind": "function", "function": f"tests.pipeline_steps:{name}", "name": name, **extra}


def _ensemble(odd: dict[str, Any], min_success: int, **branch: Any) -> dict[str, Any]:
    return {
        "kind": "ensemble",
        "min_success": min_success,
        "timeout_ms": 3000,
        "branches": {
            "logreg": {"node": {"kind": "model", "model": MODELS[0]}},
            "mlp": {"node": {"kind": "model", "model": MODELS[1]}},
            "odd": {"node": odd, **branch},
        },
    }


@pytest.fixture(scope="module")
def catalog(model_dir: Any) -> ModelCatalog:
    return load_catalog()


@pytest.fixture(scope="module")
def post(catalog: ModelCatalog) -> Post:
    slow = _function("slow")
    failing = _function("failing")
    return poster(
        catalog,
        {
            "pipelines": {
                "slow-allowed": {"root": _ensemble(slow, 2, timeout_ms=50)},
                "slow-needed": {"root": _ensemble(slow, 3, timeout_ms=50)},
                "slow-required": {"root": _ensemble(slow, 2, timeout_ms=50, required=True)},
                "failing-allowed": {"root": _ensemble(failing, 2)},
                "failing-needed": {"root": _ensemble(failing, 3)},
                "refusing": {"root": _ensemble(_function("refusing"), 2)},
                "needs-a-module": {"root": _function("needs_a_missing_module")},
                "late-start": {
                    "deadline_ms": 3000,
                    "root": {
                        "kind": "sequence",
                        "steps": [
                            _function("slow"),
                            {
                                "kind": "model",
                                "model": MODELS[1],
                                "min_ms": 10_000,
                                "input": "request",
                            },
                        ],
                    },
                },
            }
        },
    )


def test_a_slow_branch_past_its_timeout_gives_a_degraded_answer_when_min_success_allows(
    post: Post,
) -> None:
    status, body = post("slow-allowed", ROW)
    assert status == 200
    assert body["degraded"] is True
    assert {"step": "odd", "kind": "branch", "status": "timed_out"}.items() <= (
        next(s for s in body["trace"] if s["step"] == "odd").items()
    )
    assert body["trace"][-1]["branches_ok"] == ["logreg", "mlp"]
    PipelineResponse.model_validate(body)


@pytest.mark.parametrize("name", ["slow-needed", "slow-required"])
def test_a_slow_branch_is_a_504_naming_it_when_the_policy_needs_it(post: Post, name: str) -> None:
    status, body = post(name, ROW)
    assert status == 504
    assert body["error"]["code"] == "step_timeout"
    assert body["error"]["message"].startswith("step 'odd'")


def test_a_failing_branch_is_left_out_or_a_502_naming_it_never_its_body(post: Post) -> None:
    status, body = post("failing-allowed", ROW)
    assert (status, body["degraded"]) == (200, True)
    failed = next(s for s in body["trace"] if s["step"] == "odd" and s["kind"] == "branch")
    assert (failed["status"], failed["error"]) == ("failed", "step_failed")
    status, body = post("failing-needed", ROW)
    assert status == 502
    assert body["error"]["message"].startswith("step 'failing'")
    assert "SECRET" not in str(body)


def test_a_branch_refusing_its_input_degrades_and_the_refusal_is_traced(post: Post) -> None:
    status, body = post("refusing", ROW)
    assert status == 200
    assert body["degraded"] is True
    refused = [s for s in body["trace"] if s["step"] == "refusing"]
    assert refused[0]["status"] == "refused"


def test_a_step_never_starts_with_less_than_its_minimum_left(post: Post) -> None:
    status, body = post("late-start", ROW)  # 3 s deadline, SLOW_S gone, the model needs 10 s
    assert SLOW_S < 3
    assert status == 504
    assert body["error"]["message"].startswith("step 'digits-mlp':")
    assert "needs 10000 ms to start" in body["error"]["message"]


def test_the_request_deadline_shortens_the_pipeline_and_reaches_the_branches(post: Post) -> None:
    status, body = post("slow-allowed", ROW, deadline_ms=0.5)  # less than a step's 1 ms
    assert status == 504
    assert "needs 1 ms to start" in body["error"]["message"]
    status, body = post("slow-allowed", ROW, deadline_ms=2000)  # the branch's 50 ms still holds
    assert (status, body["degraded"]) == (200, True)


def test_a_pipeline_needing_a_module_this_deployment_lacks_is_a_501_naming_it(
    post: Post, catalog: ModelCatalog
) -> None:
    """As digits-image in Lambda (no Pillow in the layer): refused before any step runs, the
    module named, the other pipelines served; GET /pipelines says which are available."""
    status, body = post("needs-a-module", ROW)
    assert (status, body["error"]["code"]) == (501, "pipeline_unavailable")
    assert "servekit_test_no_such_module" in body["error"]["message"]
    assert post("refusing", ROW)[0] == 200
    spec = {"pipelines": {"needs-a-module": {"root": _function("needs_a_missing_module")}}}
    manifests = {m.name: m for m in catalog.manifests()}
    service = PipelinesService(parse_pipelines(spec, manifests), Executor(catalog))
    (listed,) = service.list_pipelines()["pipelines"]
    assert (listed["name"], listed["available"]) == ("needs-a-module", False)
