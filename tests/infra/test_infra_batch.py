"""The batch pipeline's synthesized resources: the security- and reliability-relevant shape.

Reads the session synth (cdk.json as is: batch on, schedule off) and one extra synth with the
schedule on (also checked by cdk-nag at synth time and by cfn-lint here).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
import pytest
from cfnlint.api import ManualArgs, lint_file

from infra.app import add_inference_stack
from infra.config import load_cdk_json_context, parse_config
from infra.constants import CONTEXT_KEY
from infra.nag import add_nag_checks
from servekit.batch import routes as batch_routes
from servekit.batch import shapes
from servekit.constants import ENV_INTRA_OP_THREADS

if TYPE_CHECKING:
    from tests.infra.conftest import Synthesized


def _by_prefix(synth: Synthesized, cfn_type: str, prefix: str) -> tuple[str, dict[str, Any]]:
    (found,) = [(k, v) for k, v in synth.resources(cfn_type).items() if k.startswith(prefix)]
    return found


def _props(synth: Synthesized, cfn_type: str, prefix: str) -> dict[str, Any]:
    properties: dict[str, Any] = _by_prefix(synth, cfn_type, prefix)[1]["Properties"]
    return properties


def _ref_id(value: dict[str, Any]) -> str:
    return str(value.get("Ref") or value["Fn::GetAtt"][0])


def _deny_insecure_transport(document: dict[str, Any]) -> bool:
    return any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in document["Statement"]
    )


def test_bucket_is_encrypted_private_tls_only_logged_and_expires(synth: Synthesized) -> None:
    batch = synth.config.batch
    bucket_id, bucket = _by_prefix(synth, "AWS::S3::Bucket", "BatchPipelineResourcesBucket")
    logs_id, logs = _by_prefix(synth, "AWS::S3::Bucket", "BatchPipelineResourcesAccessLogs")
    for props in (bucket["Properties"], logs["Properties"]):
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
        ]
        assert set(props["PublicAccessBlockConfiguration"].values()) == {True}
        assert props["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert bucket["Properties"]["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": logs_id}
    rules = {r["Id"]: r for r in bucket["Properties"]["LifecycleConfiguration"]["Rules"]}
    assert rules["ExpireBatchFiles"]["Prefix"] == "batches/"
    assert rules["ExpireBatchFiles"]["ExpirationInDays"] == batch.output_expiration_days
    assert rules["ExpireInputs"]["Prefix"] == shapes.INPUTS_PREFIX
    assert rules["AbortIncompleteUploads"]["AbortIncompleteMultipartUpload"] == {
        "DaysAfterInitiation": 1
    }
    assert bucket["DeletionPolicy"] == "Retain"  # user data outlives the stack
    policies = {
        _ref_id(p["Properties"]["Bucket"]): p["Properties"]["PolicyDocument"]
        for p in synth.resources("AWS::S3::BucketPolicy").values()
    }
    assert _deny_insecure_transport(policies[bucket_id])
    assert _deny_insecure_transport(policies[logs_id])


def test_queues_have_dlqs_sse_tls_only_and_visibility_six_times_the_consumer(
    synth: Synthesized,
) -> None:
    batch = synth.config.batch
    queues = synth.resources("AWS::SQS::Queue")
    assert all(q["Properties"]["SqsManagedSseEnabled"] is True for q in queues.values())
    protected = {
        _ref_id(queue): p["Properties"]["PolicyDocument"]
        for p in synth.resources("AWS::SQS::QueuePolicy").values()
        for queue in p["Properties"]["Queues"]
    }
    for queue_id in queues:
        assert _deny_insecure_transport(protected[queue_id]), queue_id
    for name, timeout in (("Split", batch.splitter_timeout_s), ("Chunk", batch.worker_timeout_s)):
        props = _props(synth, "AWS::SQS::Queue", f"BatchPipelineResources{name}Queue")
        assert props["VisibilityTimeout"] == shapes.VISIBILITY_TIMEOUT_FACTOR * timeout
        dlq_id, _ = _by_prefix(synth, "AWS::SQS::Queue", f"BatchPipelineResources{name}Dlq")
        assert props["RedrivePolicy"] == {
            "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
            "maxReceiveCount": batch.max_receive_count,
        }
    worker = _props(synth, "AWS::Lambda::Function", "BatchPipelineWorkerFunction")
    assert worker["Timeout"] == batch.worker_timeout_s


def test_an_alarm_watches_each_dlq(synth: Synthesized) -> None:
    """Poison messages land in the DLQs at once: an alarm on the first one in each."""
    watched = {
        alarm["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for alarm in synth.resources("AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
        and alarm["Properties"]["Threshold"] == 0
    }
    for name in ("Split", "Chunk"):
        dlq_id, _ = _by_prefix(synth, "AWS::SQS::Queue", f"BatchPipelineResources{name}Dlq")
        assert dlq_id in watched, name


def test_event_source_mappings_report_partial_failures_and_cap_concurrency(
    synth: Synthesized,
) -> None:
    batch = synth.config.batch
    mappings = {
        synth.invoked_function(m["Properties"]["FunctionName"]): m["Properties"]
        for m in synth.resources("AWS::Lambda::EventSourceMapping").values()
    }
    worker_id, _ = _by_prefix(synth, "AWS::Lambda::Function", "BatchPipelineWorkerFunction")
    splitter_id, _ = _by_prefix(synth, "AWS::Lambda::Function", "BatchPipelineSplitterFunction")
    assert {worker_id, splitter_id} <= set(mappings)
    for props in (mappings[worker_id], mappings[splitter_id]):
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert props["ScalingConfig"] == {"MaximumConcurrency": batch.max_concurrency}
    assert mappings[worker_id]["BatchSize"] == batch.worker_batch_size
    assert mappings[splitter_id]["BatchSize"] == 1


def test_table_is_on_demand_with_pitr_ttl_and_encryption(synth: Synthesized) -> None:
    props = _props(synth, "AWS::DynamoDB::Table", "BatchPipelineResourcesTable")
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert props["TimeToLiveSpecification"] == {
        "AttributeName": shapes.TTL_ATTRIBUTE,
        "Enabled": True,
    }
    assert props["KeySchema"] == [
        {"AttributeName": shapes.PARTITION_KEY, "KeyType": "HASH"},
        {"AttributeName": shapes.SORT_KEY, "KeyType": "RANGE"},
    ]


def test_functions_run_the_batch_handlers_with_the_shared_contract(synth: Synthesized) -> None:
    batch = synth.config.batch
    expected = {
        "BatchPipelineApiFunction": shapes.BATCH_API_HANDLER,
        "BatchPipelineSplitterFunction": shapes.BATCH_SPLITTER_HANDLER,
        "BatchPipelineWorkerFunction": shapes.BATCH_WORKER_HANDLER,
    }
    inference = _props(synth, "AWS::Lambda::Function", "InferenceFunction")
    for prefix, handler in expected.items():
        props = _props(synth, "AWS::Lambda::Function", prefix)
        assert props["Handler"] == handler
        assert props["Code"] == inference["Code"]  # the one shared code asset
        assert props["Layers"] == inference["Layers"]
        env = props["Environment"]["Variables"]
        for name in (
            shapes.ENV_BATCH_TABLE,
            shapes.ENV_BATCH_BUCKET,
            shapes.ENV_BATCH_SPLIT_QUEUE_URL,
            shapes.ENV_BATCH_CHUNK_QUEUE_URL,
        ):
            assert name in env, (prefix, name)
        assert env[shapes.ENV_BATCH_MAX_RECEIVE] == str(batch.max_receive_count)
    worker = _props(synth, "AWS::Lambda::Function", "BatchPipelineWorkerFunction")
    assert worker["MemorySize"] == batch.worker_memory_mb
    assert worker["Environment"]["Variables"][ENV_INTRA_OP_THREADS] == str(batch.worker_threads)


def _grants(synth: Synthesized, prefix: str) -> set[tuple[str, ...]]:
    _, policy = _by_prefix(synth, "AWS::IAM::Policy", prefix)
    found = set()
    for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        assert statement["Effect"] == "Allow"
        for action in actions:
            assert "*" not in action, (prefix, action)
            found.add(action)
    return {tuple(sorted(found))}


def test_roles_hold_only_the_actions_their_function_performs(synth: Synthesized) -> None:
    base = {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
    }
    consume = {
        "sqs:ChangeMessageVisibility",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
        "sqs:ReceiveMessage",
    }
    expected = {
        "BatchPipelineApiFunctionRole": {
            "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem",
            "s3:GetObject", "s3:ListBucket", "sqs:SendMessage",
        },
        "BatchPipelineSplitterFunctionRole": {
            "dynamodb:BatchWriteItem", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem",
            "s3:DeleteObject", "s3:GetObject", "s3:ListBucket", "s3:PutObject", "sqs:SendMessage",
            *consume,
        },
        "BatchPipelineWorkerFunctionRole": {
            "dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem",
            "s3:GetObject", "s3:PutObject", "sqs:SendMessage", *consume,
        },
    }  # fmt: skip
    for prefix, actions in expected.items():
        assert _grants(synth, prefix) == {tuple(sorted(base | actions))}, prefix
        _, role = _by_prefix(synth, "AWS::IAM::Role", prefix)
        assert "ManagedPolicyArns" not in role["Properties"]
    # the worker touches batch files only, never the inputs anywhere else in the bucket
    _, worker = _by_prefix(synth, "AWS::IAM::Policy", "BatchPipelineWorkerFunctionRole")
    s3_statement = next(
        s
        for s in worker["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Sid") == "ReadChunksWriteParts"
    )
    assert s3_statement["Resource"]["Fn::Join"][1][1] == "/batches/*"


def _statements(synth: Synthesized) -> list[tuple[str, dict[str, Any]]]:
    """(policy logical id, statement) for every statement of every IAM policy."""
    return [
        (policy_id, statement)
        for policy_id, policy in synth.resources("AWS::IAM::Policy").items()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_each_consumer_may_send_to_its_own_dlq_only_and_knows_its_url(synth: Synthesized) -> None:
    """A message with no record to keep it is moved to its queue's DLQ by the function that
    received it: that function alone may SendMessage there, to that one queue."""
    functions = {
        prefix: _by_prefix(synth, "AWS::Lambda::Function", prefix)[1]["Properties"]
        for prefix in (
            "BatchPipelineApiFunction",
            "BatchPipelineSplitterFunction",
            "BatchPipelineWorkerFunction",
        )
    }
    chunk_queue_id, _ = _by_prefix(synth, "AWS::SQS::Queue", "BatchPipelineResourcesChunkQueue")
    cases = (
        ("Worker", "Chunk", shapes.ENV_BATCH_CHUNK_DLQ_URL, set()),
        ("Splitter", "Split", shapes.ENV_BATCH_SPLIT_DLQ_URL, {chunk_queue_id}),
    )
    for function, queue, env_name, other_sends in cases:
        dlq_id, _ = _by_prefix(synth, "AWS::SQS::Queue", f"BatchPipelineResources{queue}Dlq")
        dlq_arn = {"Fn::GetAtt": [dlq_id, "Arn"]}
        role = f"BatchPipeline{function}FunctionRole"
        for prefix, props in functions.items():
            env = props["Environment"]["Variables"]
            if prefix == f"BatchPipeline{function}Function":
                assert env[env_name] == {"Ref": dlq_id}
            else:
                assert env_name not in env, (prefix, env_name)
        # the function's SendMessage grants: its DLQ, one statement, no wildcard, no other action
        sends = [
            (policy_id, statement)
            for policy_id, statement in _statements(synth)
            if policy_id.startswith(role) and "sqs:SendMessage" in str(statement["Action"])
        ]
        dead_letters = [st for _, st in sends if st.get("Sid") == "DeadLetters"]
        assert dead_letters == [
            {
                "Action": "sqs:SendMessage",
                "Effect": "Allow",
                "Resource": dlq_arn,
                "Sid": "DeadLetters",
            }
        ]
        others = {
            _ref_id(r)
            for _, st in sends
            if st.get("Sid") != "DeadLetters"
            for r in (st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]])
        }
        assert others == other_sends, function
        # ...and no other role may touch that DLQ
        touching = {
            policy_id for policy_id, statement in _statements(synth) if dlq_id in str(statement)
        }
        assert all(policy_id.startswith(role) for policy_id in touching), touching


def test_routes_reach_the_batch_api_function_with_iam_auth(synth: Synthesized) -> None:
    routes = {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in synth.resources("AWS::ApiGatewayV2::Route").values()
    }
    api_fn_id, _ = _by_prefix(synth, "AWS::Lambda::Function", "BatchPipelineApiFunction")
    integrations = synth.resources("AWS::ApiGatewayV2::Integration")
    for method, path in ((r.method, r.path) for r in batch_routes.ROUTES):
        route = routes[f"{method} {path}"]
        assert route["AuthorizationType"] == "AWS_IAM"
        integration_id = route["Target"]["Fn::Join"][1][1]["Ref"]
        uri = integrations[integration_id]["Properties"]["IntegrationUri"]
        assert synth.invoked_function(uri) == api_fn_id


def test_outputs_the_cli_reads(synth: Synthesized) -> None:
    outputs = synth.template_json["Outputs"]
    for key in (
        shapes.OUTPUT_BATCH_BUCKET,
        shapes.OUTPUT_BATCH_TABLE,
        shapes.OUTPUT_BATCH_SPLIT_QUEUE_URL,
        shapes.OUTPUT_BATCH_CHUNK_QUEUE_URL,
        shapes.OUTPUT_BATCH_SPLIT_DLQ_URL,
        shapes.OUTPUT_BATCH_CHUNK_DLQ_URL,
    ):
        assert key in outputs


def test_schedule_is_off_by_default(synth: Synthesized) -> None:
    assert [k for k in synth.resources("AWS::Events::Rule") if k.startswith("BatchPipeline")] == []


@pytest.fixture(scope="module")
def scheduled(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> dict[str, Any]:
    """A stack with the schedule on (cdk-nag runs at synth: unacknowledged findings raise)."""
    outdir = tmp_path_factory.mktemp("cdk-out-batch-schedule")
    base = copy.deepcopy(load_cdk_json_context())
    raw = base[CONTEXT_KEY]
    raw["batch"]["schedule"] = {
        "enabled": True,
        "expression": "cron(0 2 * * ? *)",
        "input_prefix": "nightly/",
        "model": "digits-mlp",
    }
    app = cdk.App(context=base, outdir=str(outdir))
    stack = add_inference_stack(app, parse_config({**raw, "stage": "sched"}))
    add_nag_checks(app)
    assembly = app.synth()
    path = Path(assembly.get_stack_by_name(stack.stack_name).template_full_path)
    return {"path": path, "template": json.loads(path.read_text())}


def test_schedule_rule_targets_the_schedule_function_with_scoped_grants(
    scheduled: dict[str, Any],
) -> None:
    resources = scheduled["template"]["Resources"]
    (rule,) = [
        r
        for k, r in resources.items()
        if r["Type"] == "AWS::Events::Rule" and k.startswith("BatchPipeline")
    ]
    assert rule["Properties"]["ScheduleExpression"] == "cron(0 2 * * ? *)"
    (fn_id,) = [
        k
        for k in resources
        if k.startswith("BatchPipelineScheduleFunction")
        and resources[k]["Type"] == "AWS::Lambda::Function"
    ]
    alias = resources[rule["Properties"]["Targets"][0]["Arn"]["Ref"]]  # its live alias
    assert alias["Properties"]["FunctionName"] == {"Ref": fn_id}
    env = resources[fn_id]["Properties"]["Environment"]["Variables"]
    assert env[shapes.ENV_BATCH_SCHEDULE_PREFIX] == "nightly/"
    assert env[shapes.ENV_BATCH_SCHEDULE_MODEL] == "digits-mlp"
    (policy,) = [
        v
        for k, v in resources.items()
        if k.startswith("BatchPipelineScheduleFunctionRole") and v["Type"] == "AWS::IAM::Policy"
    ]
    statements = {s.get("Sid"): s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    assert statements["ListScheduledInputs"]["Condition"] == {
        "StringLike": {"s3:prefix": ["nightly/*"]}
    }
    assert statements["ReadScheduledInputs"]["Resource"]["Fn::Join"][1][1] == "/nightly/*"
    problems = [
        str(m)
        for m in lint_file(scheduled["path"], ManualArgs(regions=["us-east-1"]))
        if m.rule.id[0] in {"E", "W"}
    ]
    assert problems == []


def test_schedule_model_must_be_served() -> None:
    raw = copy.deepcopy(load_cdk_json_context()[CONTEXT_KEY])
    raw["batch"]["schedule"]["model"] = "nope"
    with pytest.raises(ValueError, match=r"batch.schedule.model 'nope' is not one of"):
        parse_config(raw)
