"""The async-jobs construct in the synthesized stack: security- and contract-relevant shape."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import pytest

from infra.config import ConfigError, load_cdk_json_context, parse_config
from infra.constants import CONTEXT_KEY
from servekit.constants import ENV_INTRA_OP_THREADS
from servekit.jobs import shapes as c
from servekit.settings import threads_for_memory

if TYPE_CHECKING:
    from tests.infra.conftest import Synthesized


def _jobs(synth: Synthesized, cfn_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in synth.resources(cfn_type).items() if k.startswith("AsyncJobs")}


def _one(synth: Synthesized, cfn_type: str, prefix: str = "AsyncJobs") -> dict[str, Any]:
    found = [v for k, v in synth.resources(cfn_type).items() if k.startswith(prefix)]
    assert len(found) == 1, (cfn_type, prefix, len(found))
    properties: dict[str, Any] = found[0]["Properties"]
    return properties


def test_queue_redrive_encryption_and_visibility(synth: Synthesized) -> None:
    config = synth.config.jobs
    queue = _one(synth, "AWS::SQS::Queue", "AsyncJobsQueue")
    dlq_id = next(k for k in synth.resources("AWS::SQS::Queue") if k.startswith("AsyncJobsDead"))
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
        "maxReceiveCount": config.max_receive_count,
    }
    assert queue["VisibilityTimeout"] >= 6 * config.worker_timeout_s
    assert queue["VisibilityTimeout"] == c.visibility_timeout_s(config.worker_timeout_s)
    for properties in (queue, _one(synth, "AWS::SQS::Queue", "AsyncJobsDead")):
        assert properties["SqsManagedSseEnabled"] is True
    policies = _jobs(synth, "AWS::SQS::QueuePolicy")
    assert len(policies) == 2
    for policy in policies.values():
        (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
        assert statement["Effect"] == "Deny"
        assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_an_alarm_watches_the_dlq(synth: Synthesized) -> None:
    alarm = _one(synth, "AWS::CloudWatch::Alarm")
    dlq_id = next(k for k in synth.resources("AWS::SQS::Queue") if k.startswith("AsyncJobsDead"))
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Dimensions"][0]["Value"] == {"Fn::GetAtt": [dlq_id, "QueueName"]}
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")


def test_event_source_mapping_from_config(synth: Synthesized) -> None:
    config = synth.config.jobs
    mapping = _one(synth, "AWS::Lambda::EventSourceMapping")
    assert mapping["BatchSize"] == config.batch_size
    assert mapping["MaximumBatchingWindowInSeconds"] == config.max_batching_window_s
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": config.max_concurrency}


def test_jobs_table_shape(synth: Synthesized) -> None:
    table = _one(synth, "AWS::DynamoDB::Table")
    assert table["KeySchema"] == [{"AttributeName": c.TABLE_PARTITION_KEY, "KeyType": "HASH"}]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["TimeToLiveSpecification"] == {
        "AttributeName": c.TABLE_TTL_ATTRIBUTE,
        "Enabled": True,
    }
    assert table["SSESpecification"] == {"SSEEnabled": True}


def test_results_bucket_is_private_encrypted_tls_only_and_expires(synth: Synthesized) -> None:
    bucket = _one(synth, "AWS::S3::Bucket")
    assert bucket["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"], True
    )
    sse = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    (rule,) = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["Prefix"] == c.RESULTS_PREFIX and rule["Status"] == "Enabled"
    assert rule["ExpirationInDays"] == synth.config.jobs.results_expiration_days
    (policy,) = _jobs(synth, "AWS::S3::BucketPolicy").values()
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_topic_is_encrypted_and_tls_only(synth: Synthesized) -> None:
    topic = _one(synth, "AWS::SNS::Topic")
    assert "alias/aws/sns" in str(topic["KmsMasterKeyId"])
    (policy,) = _jobs(synth, "AWS::SNS::TopicPolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in statements
    )


def _actions(synth: Synthesized, prefix: str) -> set[str]:
    actions: set[str] = set()
    for logical_id, statement in synth.policy_statements():
        if logical_id.startswith(prefix) and statement["Effect"] == "Allow":
            found = statement["Action"]
            actions |= {found} if isinstance(found, str) else set(found)
    return actions


def test_least_privilege_grants(synth: Synthesized) -> None:
    base = {"logs:CreateLogStream", "logs:PutLogEvents"}
    base |= {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
    assert _actions(synth, "AsyncJobsApiFunction") == base | {
        "dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:DeleteItem",
        "sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl",
        "s3:GetObject",
    }  # fmt: skip
    assert _actions(synth, "AsyncJobsWorker") == base | {
        "dynamodb:UpdateItem", "dynamodb:GetItem", "s3:PutObject", "sns:Publish",
        "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes", "sqs:GetQueueUrl",
        "lambda:InvokeFunction",  # pipeline jobs' function-placed steps (test_infra_pipelines)
    }  # fmt: skip
    for logical_id, statement in synth.policy_statements():
        allows_s3 = statement["Effect"] == "Allow" and str(statement["Action"]).startswith("s3:")
        if logical_id.startswith("AsyncJobs") and allows_s3:
            resource = statement["Resource"]["Fn::Join"][1]
            assert resource[1] == f"/{c.RESULTS_PREFIX}*"  # objects under results/ only


def test_functions_handlers_environment_and_routes(synth: Synthesized) -> None:
    config = synth.config.jobs
    api = _one(synth, "AWS::Lambda::Function", "AsyncJobsApiFunction")
    worker = _one(synth, "AWS::Lambda::Function", "AsyncJobsWorker")
    assert (api["Handler"], api["Timeout"]) == (c.JOBS_API_HANDLER, config.api_timeout_s)
    assert (worker["Handler"], worker["Timeout"], worker["MemorySize"]) == (
        c.JOBS_WORKER_HANDLER, config.worker_timeout_s, config.worker_memory_mb,
    )  # fmt: skip
    env = worker["Environment"]["Variables"]
    assert env[c.ENV_JOBS_MAX_RECEIVE_COUNT] == str(config.max_receive_count)
    assert env[ENV_INTRA_OP_THREADS] == str(threads_for_memory(config.worker_memory_mb))
    for name in (c.ENV_JOBS_TABLE, c.ENV_JOBS_QUEUE_URL, c.ENV_JOBS_RESULTS_BUCKET):
        assert name in env and name in api["Environment"]["Variables"]
    assert c.ENV_JOBS_TOPIC_ARN in env
    route_keys = {
        r["Properties"]["RouteKey"] for r in synth.resources("AWS::ApiGatewayV2::Route").values()
    }
    assert {"POST /jobs", "GET /jobs/{job_id}"} <= route_keys
    for route in synth.resources("AWS::ApiGatewayV2::Route").values():
        if route["Properties"]["RouteKey"].endswith(("/jobs", "/jobs/{job_id}")):
            assert route["Properties"]["AuthorizationType"] == "AWS_IAM"


def test_outputs_the_cli_reads(synth: Synthesized) -> None:
    outputs = synth.template_json["Outputs"]
    for key in (
        c.OUTPUT_JOBS_QUEUE_URL,
        c.OUTPUT_JOBS_DLQ_URL,
        c.OUTPUT_JOBS_TABLE,
        c.OUTPUT_JOBS_RESULTS_BUCKET,
        c.OUTPUT_JOBS_TOPIC_ARN,
    ):
        assert key in outputs


def test_jobs_findings_acknowledged_with_reasons(synth: Synthesized) -> None:
    rules = {
        rule["id"]
        for logical_id, resource in synth.template_json["Resources"].items()
        if logical_id.startswith("AsyncJobs")
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    }
    assert "AwsSolutions-S1" in rules
    assert any(rule.endswith(f"/{c.RESULTS_PREFIX}*]") for rule in rules)
    assert {r for r in rules if "IAM5" in r} - {"AwsSolutions-IAM5[Resource::*]"} == {
        next(r for r in rules if r.endswith(f"/{c.RESULTS_PREFIX}*]"))
    }


def test_core_stack_has_no_jobs(core: Synthesized) -> None:
    assert not [k for k in core.template_json["Resources"] if k.startswith("AsyncJobs")]


def test_config_rejects_large_batches_without_a_window() -> None:
    raw = copy.deepcopy(load_cdk_json_context()[CONTEXT_KEY])
    raw["jobs"] = {**raw["jobs"], "batch_size": 100, "max_batching_window_s": 0}
    with pytest.raises(ConfigError, match=r"servekit\.jobs: .*max_batching_window_s"):
        parse_config(raw)
    raw["jobs"] = {**raw["jobs"], "max_concurrency": 1}
    with pytest.raises(ConfigError, match=r"servekit\.jobs\.max_concurrency"):
        parse_config(raw)
