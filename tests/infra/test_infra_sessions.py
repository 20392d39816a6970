"""The sessions capability in the synthesized stack: table, queues, functions, grants, routes."""

from __future__ import annotations

from typing import Any

import pytest

from infra.config import ConfigError, load_cdk_json_context, parse_config
from infra.constants import CONTEXT_KEY
from servekit.sessions import routes as session_routes
from servekit.sessions import shapes
from tests.infra.conftest import Synthesized


def _ref_name(value: Any) -> str:
    """The logical id a Ref / Fn::GetAtt points at."""
    if "Ref" in value:
        return str(value["Ref"])
    return str(value["Fn::GetAtt"][0])


def _own(synth: Synthesized, cfn_type: str) -> dict[str, dict[str, Any]]:
    """This capability's resources of ``cfn_type`` (other capabilities have their own)."""
    return {k: v for k, v in synth.resources(cfn_type).items() if k.startswith("Sessions")}


def _own_one(synth: Synthesized, cfn_type: str) -> tuple[str, dict[str, Any]]:
    (found,) = _own(synth, cfn_type).items()
    return found


def _function(synth: Synthesized, handler: str) -> tuple[str, dict[str, Any]]:
    found = [
        (logical_id, resource)
        for logical_id, resource in synth.resources("AWS::Lambda::Function").items()
        if resource["Properties"]["Handler"] == handler
    ]
    assert len(found) == 1, found
    return found[0]


def _role_statements(synth: Synthesized, function: dict[str, Any]) -> list[dict[str, Any]]:
    role = _ref_name(function["Properties"]["Role"])
    return [
        statement
        for logical_id, statement in synth.policy_statements()
        if any(
            _ref_name(r) == role
            for r in synth.template_json["Resources"][logical_id]["Properties"].get("Roles", [])
        )
    ]


def test_table_shape_and_safety(synth: Synthesized) -> None:
    _, table = _own_one(synth, "AWS::DynamoDB::Table")
    props = table["Properties"]
    assert props["KeySchema"] == [{"AttributeName": shapes.TABLE_PARTITION_KEY, "KeyType": "HASH"}]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["TimeToLiveSpecification"] == {
        "AttributeName": shapes.ATTR_EXPIRES_AT,
        "Enabled": True,
    }
    assert props["SSESpecification"]["SSEEnabled"] is True
    config = synth.config.sessions
    assert props.get("DeletionProtectionEnabled", False) is config.deletion_protection


def test_queue_and_dlq_are_encrypted_tls_only_and_bounded(synth: Synthesized) -> None:
    queues = _own(synth, "AWS::SQS::Queue")
    assert len(queues) == 2
    main = [q for q in queues.values() if "RedrivePolicy" in q["Properties"]]
    assert len(main) == 1
    props = main[0]["Properties"]
    assert props["VisibilityTimeout"] >= 6 * shapes.EVENTS_WORKER_TIMEOUT_S
    assert props["RedrivePolicy"]["maxReceiveCount"] == shapes.QUEUE_MAX_RECEIVE_COUNT
    for queue in queues.values():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True
    policies = _own(synth, "AWS::SQS::QueuePolicy")
    denies = [
        s
        for p in policies.values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Deny"
    ]
    assert len(denies) == 2
    assert all(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in denies)


def test_session_function_may_only_touch_items_of_its_table(synth: Synthesized) -> None:
    table_id, _ = _own_one(synth, "AWS::DynamoDB::Table")
    _, function = _function(synth, shapes.SESSIONS_HANDLER)
    env = function["Properties"]["Environment"]["Variables"]
    assert _ref_name(env[shapes.ENV_SESSIONS_TABLE]) == table_id
    assert env[shapes.ENV_SESSIONS_MODEL] == synth.config.sessions.model
    dynamo = [s for s in _role_statements(synth, function) if "dynamodb" in str(s["Action"])]
    assert len(dynamo) == 1
    assert sorted(dynamo[0]["Action"]) == [
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
    ]
    assert _ref_name(dynamo[0]["Resource"]) == table_id


def test_worker_consumes_the_queue_with_partial_failures(synth: Synthesized) -> None:
    worker_id, worker = _function(synth, shapes.EVENTS_WORKER_HANDLER)
    (mapping,) = _own(synth, "AWS::Lambda::EventSourceMapping").values()
    props = mapping["Properties"]
    assert synth.invoked_function(props["FunctionName"]) == worker_id
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["BatchSize"] == shapes.EVENTS_WORKER_BATCH_SIZE
    assert worker["Properties"]["Timeout"] == shapes.EVENTS_WORKER_TIMEOUT_S
    actions = sorted(
        a
        for s in _role_statements(synth, worker)
        for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
        if a.startswith("dynamodb:")
    )
    assert actions == ["dynamodb:GetItem", "dynamodb:PutItem"]


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return list(actions) if isinstance(actions, list) else [actions]


def test_the_worker_may_send_to_its_dlq_and_nothing_broader(synth: Synthesized) -> None:
    _, worker = _function(synth, shapes.EVENTS_WORKER_HANDLER)
    queues = _own(synth, "AWS::SQS::Queue")
    (dlq_id,) = [k for k, q in queues.items() if "RedrivePolicy" not in q["Properties"]]
    (queue_id,) = [k for k, q in queues.items() if "RedrivePolicy" in q["Properties"]]
    env = worker["Properties"]["Environment"]["Variables"]
    assert _ref_name(env[shapes.ENV_SESSION_EVENTS_DLQ_URL]) == dlq_id

    sqs = [s for s in _role_statements(synth, worker) if "sqs:" in str(s["Action"])]
    sends = [s for s in sqs if "sqs:SendMessage" in _actions(s)]
    assert sends == [
        {
            "Action": "sqs:SendMessage",
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [dlq_id, "Arn"]},
            "Sid": "MovePoisonEvents",
        }
    ]
    for statement in sqs:  # the rest is the event source's, on the events queue only
        if statement not in sends:
            assert statement["Resource"] == {"Fn::GetAtt": [queue_id, "Arn"]}
            assert not any(a.startswith("sqs:Send") or "*" in a for a in _actions(statement))

    # no other role may send to the DLQ, and the session function does not even know it
    dlq_arn = {"Fn::GetAtt": [dlq_id, "Arn"]}
    senders = [
        logical_id
        for logical_id, statement in synth.policy_statements()
        if statement.get("Resource") == dlq_arn
        and "sqs:SendMessage" in _actions(statement)
        and statement.get("Effect") == "Allow"
    ]
    assert len(senders) == 1
    _, function = _function(synth, shapes.SESSIONS_HANDLER)
    assert (
        shapes.ENV_SESSION_EVENTS_DLQ_URL not in function["Properties"]["Environment"]["Variables"]
    )


def test_inference_function_may_only_send_to_the_events_queue(synth: Synthesized) -> None:
    _, function = _function(synth, "servekit.handlers.inference.handler")
    env = function["Properties"]["Environment"]["Variables"]
    queue_id = _ref_name(env[shapes.ENV_SESSION_EVENTS_QUEUE_URL])
    sqs = [s for s in _role_statements(synth, function) if "sqs" in str(s["Action"])]
    assert sqs == [
        {
            "Action": "sqs:SendMessage",
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [queue_id, "Arn"]},
            "Sid": "ForwardSessionEvents",
        }
    ]


def test_session_routes_are_on_the_api_behind_its_authorizer(synth: Synthesized) -> None:
    routes = {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in synth.resources("AWS::ApiGatewayV2::Route").values()
    }
    for method, path in ((r.method, r.path) for r in session_routes.ROUTES):
        route = routes[f"{method} {path}"]
        assert route["AuthorizationType"] == "AWS_IAM"


def test_the_code_asset_bundles_the_session_model(synth: Synthesized) -> None:
    assert synth.config.sessions.model in synth.stack.bundled_models(synth.config)


def test_outputs_use_the_shared_names(synth: Synthesized) -> None:
    outputs = synth.template_json["Outputs"]
    for name in (
        shapes.OUTPUT_SESSIONS_TABLE,
        shapes.OUTPUT_EVENTS_QUEUE_URL,
        shapes.OUTPUT_EVENTS_DLQ_URL,
    ):
        assert name in outputs


def test_sessions_config_is_strict() -> None:
    base = load_cdk_json_context()[CONTEXT_KEY]
    assert parse_config(base).sessions.enabled is True
    disabled = parse_config({**base, "sessions": {"enabled": False}})
    assert disabled.sessions.enabled is False
    with pytest.raises(ConfigError, match=r"servekit\.sessions\.max_events"):
        parse_config({**base, "sessions": {"max_events": 10_000}})
    with pytest.raises(ConfigError, match=r"servekit\.sessions\.tll_s"):
        parse_config({**base, "sessions": {"tll_s": 60}})


def test_an_alarm_watches_the_dlq(synth: Synthesized) -> None:
    (alarm,) = [  # async jobs has a DLQ alarm of its own
        a for k, a in synth.resources("AWS::CloudWatch::Alarm").items() if k.startswith("Sessions")
    ]
    props = alarm["Properties"]
    dlq = [
        logical_id
        for logical_id, q in _own(synth, "AWS::SQS::Queue").items()
        if "RedrivePolicy" not in q["Properties"]
    ]
    assert props["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert props["Dimensions"][0]["Value"] == {"Fn::GetAtt": [dlq[0], "QueueName"]}
    assert (props["Threshold"], props["ComparisonOperator"]) == (0, "GreaterThanThreshold")
