"""The stream with ``output: firehose``: results to S3 through an encrypted DirectPut delivery
stream, no output stream, the consumer allowed PutRecordBatch on that delivery stream only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Annotations, Match

from servekit.streams import shapes as c
from tests.infra.conftest import Synthesized
from tests.infra.test_infra_streams import actions_of, assert_nag_and_lint_clean, synth_stream

FIREHOSE = {"output": "firehose", "firehose_buffer_mb": 16, "firehose_buffer_s": 60}


@pytest.fixture(scope="module")
def firehosed(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Synthesized:
    return synth_stream(tmp_path_factory.mktemp("cdk-out-firehose"), FIREHOSE)


def _delivery(synth: Synthesized) -> tuple[str, dict[str, Any]]:
    logical_id, resource = synth.one("AWS::KinesisFirehose::DeliveryStream")
    return logical_id, resource["Properties"]


def test_only_the_input_stream_and_an_encrypted_direct_put_delivery_stream(
    firehosed: Synthesized,
) -> None:
    (stream_id,) = firehosed.resources("AWS::Kinesis::Stream")
    assert "Input" in stream_id
    _, delivery = _delivery(firehosed)
    assert delivery["DeliveryStreamType"] == "DirectPut"
    assert delivery["DeliveryStreamEncryptionConfigurationInput"] == {"KeyType": "AWS_OWNED_CMK"}
    s3 = delivery["ExtendedS3DestinationConfiguration"]
    (bucket_id,) = firehosed.resources("AWS::S3::Bucket")
    assert s3["BucketARN"] == {"Fn::GetAtt": [bucket_id, "Arn"]}
    assert s3["Prefix"] == c.FIREHOSE_RESULTS_PREFIX == "results/!{timestamp:yyyy/MM/dd/HH}/"
    assert s3["ErrorOutputPrefix"] == c.FIREHOSE_ERROR_PREFIX
    assert s3["BufferingHints"] == {"IntervalInSeconds": 60, "SizeInMBs": 16}
    assert s3["FileExtension"] == ".jsonl"
    assert s3["CloudWatchLoggingOptions"]["Enabled"] is True


def test_the_results_bucket_is_encrypted_tls_only_and_versioned(firehosed: Synthesized) -> None:
    bucket_id, resource = firehosed.one("AWS::S3::Bucket")
    bucket = resource["Properties"]
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    ]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True
    _, policy = firehosed.one("AWS::S3::BucketPolicy")
    assert policy["Properties"]["Bucket"] == {"Ref": bucket_id}
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    (deny,) = [s for s in statements if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert resource["DeletionPolicy"] == "Retain"


def test_the_consumer_may_only_put_record_batches_to_the_delivery_stream(
    firehosed: Synthesized,
) -> None:
    delivery_id, _ = _delivery(firehosed)
    (function,) = [
        f["Properties"]
        for k, f in firehosed.resources("AWS::Lambda::Function").items()
        if k.startswith("Stream") and "Consumer" in k
    ]
    env = function["Environment"]["Variables"]
    assert env[c.ENV_STREAMS_DELIVERY_STREAM] == {"Ref": delivery_id}
    assert c.ENV_STREAMS_OUTPUT_STREAM not in env
    statements = [s for k, s in firehosed.policy_statements() if k.startswith("StreamConsumer")]
    writes = [
        s
        for s in statements
        if any(a.startswith(("firehose:", "kinesis:Put", "s3:")) for a in actions_of(s))
    ]
    assert writes == [
        {
            "Action": "firehose:PutRecordBatch",
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [delivery_id, "Arn"]},
        }
    ]


def test_outputs_name_the_delivery_stream_and_bucket(firehosed: Synthesized) -> None:
    outputs = firehosed.template_json["Outputs"]
    assert {c.OUTPUT_STREAMS_DELIVERY_STREAM, c.OUTPUT_STREAMS_RESULTS_BUCKET} <= outputs.keys()
    assert c.OUTPUT_STREAMS_OUTPUT_STREAM not in outputs


def test_cdk_nag_and_cfn_lint_are_clean_with_no_cdk_warnings(firehosed: Synthesized) -> None:
    assert_nag_and_lint_clean(firehosed)
    annotations = Annotations.from_stack(firehosed.stack)
    assert annotations.find_error("*", Match.any_value()) == []
    assert annotations.find_warning("*", Match.any_value()) == []


def test_firehose_may_only_write_the_bucket_prefixes_and_its_log_group(
    firehosed: Synthesized,
) -> None:
    (role_id,) = [
        k for k in firehosed.resources("AWS::IAM::Role") if k.startswith("StreamResultsDelivery")
    ]
    statements = [s for k, s in firehosed.policy_statements() if k.startswith(role_id[:-8])]
    actions = sorted(a for s in statements for a in actions_of(s))
    assert actions == [
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "s3:AbortMultipartUpload",
        "s3:GetBucketLocation",
        "s3:GetObject",
        "s3:ListBucket",
        "s3:ListBucketMultipartUploads",
        "s3:PutObject",
    ]
    (objects,) = [s for s in statements if "s3:PutObject" in actions_of(s)]
    heads = sorted(part["Fn::Join"][1][1] for part in objects["Resource"])
    assert heads == ["/errors/*", "/results/*"]
