"""The stream construct, synthesized with the stream on (the other optional capabilities
off, so the synth stays small): finite event source settings, encryption, least privilege,
alarms, cdk-nag and cfn-lint clean, and the config's validation."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint_file

from infra.app import build_app
from infra.config import ConfigError, load_cdk_json_context, parse_config
from infra.constants import CONTEXT_KEY
from infra.stacks.inference_stack import InferenceStack
from servekit.streams import shapes as c
from tests.infra.conftest import Synthesized, _synthesized
from tests.infra.test_infra_cfn_lint import REGIONS

STREAM = {"mode": "provisioned", "shard_count": 2, "parallelization_factor": 2, "batch_size": 50}


def synth_stream(outdir: Path, stream: dict[str, Any]) -> Synthesized:
    """The stack with only the stream on, its section updated with ``stream``."""
    context = copy.deepcopy(load_cdk_json_context())
    section = context[CONTEXT_KEY]
    for value in section.values():
        if isinstance(value, dict) and "enabled" in value:
            value["enabled"] = False
    section["stream"] = {**section["stream"], **stream, "enabled": True}
    app = build_app(context, outdir=str(outdir))
    (stack,) = [child for child in app.node.children if isinstance(child, InferenceStack)]
    return _synthesized(app, stack)


@pytest.fixture(scope="module")
def streamed(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Synthesized:
    return synth_stream(tmp_path_factory.mktemp("cdk-out-stream"), STREAM)


def _stream(synth: Synthesized, cfn_type: str) -> dict[str, dict[str, Any]]:
    return {
        k: v["Properties"] for k, v in synth.resources(cfn_type).items() if k.startswith("Stream")
    }


def test_off_by_default() -> None:
    assert parse_config(load_cdk_json_context()[CONTEXT_KEY]).stream.enabled is False


def test_streams_are_encrypted_and_sized_from_config(streamed: Synthesized) -> None:
    streams = _stream(streamed, "AWS::Kinesis::Stream")
    assert len(streams) == 2  # input and output
    for properties in streams.values():
        assert properties["StreamEncryption"] == {
            "EncryptionType": "KMS",
            "KeyId": "alias/aws/kinesis",
        }
        assert properties["ShardCount"] == 2
        assert properties["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}


def test_the_event_source_mapping_is_finite_and_reports_partial_batches(
    streamed: Synthesized,
) -> None:
    config = streamed.config.stream
    (mapping,) = _stream(streamed, "AWS::Lambda::EventSourceMapping").values()
    (queue_id,) = [k for k in streamed.resources("AWS::SQS::Queue") if k.startswith("Stream")]
    (input_id,) = [k for k in streamed.resources("AWS::Kinesis::Stream") if "Input" in k]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [input_id, "Arn"]}
    assert mapping["BatchSize"] == config.batch_size == 50
    assert mapping["MaximumBatchingWindowInSeconds"] == config.max_batching_window_s
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["MaximumRetryAttempts"] == config.retry_attempts >= 0
    assert mapping["MaximumRecordAgeInSeconds"] == config.max_record_age_s > 0
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ParallelizationFactor"] == 2
    assert mapping["DestinationConfig"] == {
        "OnFailure": {"Destination": {"Fn::GetAtt": [queue_id, "Arn"]}}
    }


def test_the_consumer_reads_the_input_and_may_only_write_the_output(
    streamed: Synthesized,
) -> None:
    (function,) = [
        f for k, f in _stream(streamed, "AWS::Lambda::Function").items() if "Consumer" in k
    ]
    env = function["Environment"]["Variables"]
    assert {c.ENV_STREAMS_OUTPUT_STREAM, c.ENV_STREAMS_FAILURE_QUEUE_URL} <= env.keys()
    assert function["Handler"] == c.STREAM_CONSUMER_HANDLER
    (output_id,) = [k for k in streamed.resources("AWS::Kinesis::Stream") if "Output" in k]
    statements = [s for k, s in streamed.policy_statements() if k.startswith("StreamConsumer")]
    kinesis_writes = [
        s for s in statements if any(":Put" in a for a in actions_of(s) if a.startswith("kinesis"))
    ]
    assert kinesis_writes == [
        {
            "Action": "kinesis:PutRecords",
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [output_id, "Arn"]},
        }
    ]
    assert all(s["Resource"] == "*" for s in statements if actions_of(s)[0].startswith("xray"))
    assert not any(
        s["Resource"] == "*" for s in statements if not actions_of(s)[0].startswith("xray")
    )


def test_alarms_watch_the_on_failure_queue_and_the_iterator_age(streamed: Synthesized) -> None:
    alarms = {a["MetricName"]: a for a in _stream(streamed, "AWS::CloudWatch::Alarm").values()}
    assert alarms.keys() == {"ApproximateNumberOfMessagesVisible", "IteratorAge"}
    assert alarms["IteratorAge"]["Threshold"] == streamed.config.stream.iterator_age_alarm_s * 1000
    (queue,) = _stream(streamed, "AWS::SQS::Queue").values()
    assert queue["SqsManagedSseEnabled"] is True


def test_outputs_for_the_cli(streamed: Synthesized) -> None:
    outputs = streamed.template_json["Outputs"]
    for key in (
        c.OUTPUT_STREAMS_INPUT_STREAM,
        c.OUTPUT_STREAMS_OUTPUT_STREAM,
        c.OUTPUT_STREAMS_FAILURE_QUEUE_URL,
    ):
        assert key in outputs


def test_cdk_nag_and_cfn_lint_are_clean(streamed: Synthesized) -> None:
    assert_nag_and_lint_clean(streamed)


def assert_nag_and_lint_clean(synth: Synthesized) -> None:
    report = synth.validation_report()
    violations = [v for p in report.get("pluginReports", []) for v in p.get("violations", [])]
    assert violations == []
    problems = [
        str(match)
        for match in lint_file(synth.template_path, ManualArgs(regions=REGIONS))
        if match.rule.id[0] in {"E", "W"}
    ]
    assert problems == []


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"retry_attempts": -1}, "stream.retry_attempts"),
        ({"max_record_age_s": -1}, "stream.max_record_age_s"),
        ({"parallelization_factor": 11}, "stream.parallelization_factor"),
        ({"shard_count": 4}, "shard_count applies to mode 'provisioned' only"),
        ({"iterator_age_alarm_s": 3600}, "must be below max_record_age_s"),
        ({"mode": "serverless"}, "stream.mode"),
        ({"output": "s3"}, "stream.output"),
        ({"firehose_buffer_mb": 64}, "apply to output 'firehose'"),
        ({"output": "firehose", "firehose_buffer_mb": 129}, "stream.firehose_buffer_mb"),
        ({"output": "firehose", "firehose_buffer_s": 901}, "stream.firehose_buffer_s"),
    ],
)
def test_invalid_stream_config_names_the_key(change: dict[str, Any], key: str) -> None:
    section = copy.deepcopy(load_cdk_json_context()[CONTEXT_KEY])
    section["stream"] = {**section["stream"], **change}
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        parse_config(section)


def actions_of(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else list(actions)
