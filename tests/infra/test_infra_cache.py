"""``servekit.cache.enabled``: ElastiCache Serverless Valkey in a NAT-less VPC, and its absence.

Synthesizes its own app with two cache stacks (one also reading inputs by reference from S3)
and runs cdk-nag and cfn-lint on them, as the suite does for the other variants.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Annotations, Match
from cdk_nag import AwsSolutionsChecks
from cfnlint.api import ManualArgs, lint_file

from infra.app import add_inference_stack
from infra.config import load_cdk_json_context, parse_config
from infra.constants import CONTEXT_KEY
from infra.nag import add_nag_checks
from servekit.cache import shapes as names
from tests.infra.conftest import Synthesized, _synthesized, capabilities_off
from tests.infra.test_infra_cfn_lint import REGIONS

BUCKET = "servekit-inputs-example"
EC2_NETWORK_TYPES = {
    "AWS::EC2::VPC",
    "AWS::EC2::Subnet",
    "AWS::EC2::SecurityGroup",
    "AWS::EC2::VPCEndpoint",
    "AWS::EC2::NatGateway",
    "AWS::EC2::InternetGateway",
}


@pytest.fixture(scope="module")
def cached(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> dict[str, Synthesized]:
    outdir = tmp_path_factory.mktemp("cdk-out-cache")
    base = copy.deepcopy(load_cdk_json_context())
    app = cdk.App(context=base, outdir=str(outdir))
    # The other optional capabilities are off, so these stacks pin the cache's shape alone;
    # "cachesessions" adds the hybrid session path, whose SQS sends need an interface endpoint.
    servekit = capabilities_off(base[CONTEXT_KEY], outdir)
    variants = {"cache": ([], False), "cachedata": ([BUCKET], False), "cachesessions": ([], True)}
    stacks = {
        stage: add_inference_stack(
            app,
            parse_config(
                {
                    **servekit,
                    "stage": stage,
                    "cache": {**servekit["cache"], "enabled": True, "input_buckets": buckets},
                    "sessions": {**servekit["sessions"], "enabled": sessions},
                }
            ),
        )
        for stage, (buckets, sessions) in variants.items()
    }
    add_nag_checks(app)
    app.synth()
    return {stage: _synthesized(app, stack) for stage, stack in stacks.items()}


def _props(synth: Synthesized, cfn_type: str) -> list[dict[str, Any]]:
    return [r["Properties"] for r in synth.resources(cfn_type).values()]


def test_cache_off_means_no_vpc_at_all(synth: Synthesized) -> None:
    assert synth.config.cache.enabled is False
    types = {r["Type"] for r in synth.template_json["Resources"].values()}
    assert not types & EC2_NETWORK_TYPES
    assert not any(t.startswith("AWS::ElastiCache::") for t in types)
    for function in _props(synth, "AWS::Lambda::Function"):
        assert "VpcConfig" not in function
        variables = function["Environment"]["Variables"]
        assert not any(k.startswith("SERVEKIT_CACHE_") for k in variables)


def test_vpc_has_isolated_subnets_no_nat_and_gateway_endpoints(
    cached: dict[str, Synthesized],
) -> None:
    synth = cached["cache"]
    template = synth.template
    template.resource_count_is("AWS::EC2::VPC", 1)
    template.resource_count_is("AWS::EC2::NatGateway", 0)
    template.resource_count_is("AWS::EC2::InternetGateway", 0)
    template.resource_count_is("AWS::EC2::EIP", 0)
    for subnet in _props(synth, "AWS::EC2::Subnet"):
        assert subnet.get("MapPublicIpOnLaunch") in (None, False)
    for route in _props(synth, "AWS::EC2::Route"):
        assert "NatGatewayId" not in route and "GatewayId" not in route
    endpoints = _props(synth, "AWS::EC2::VPCEndpoint")
    services = sorted(e["ServiceName"]["Fn::Join"][1][-1] for e in endpoints)
    assert services == [".dynamodb", ".s3"]
    assert {e["VpcEndpointType"] for e in endpoints} == {"Gateway"}
    (flow_log,) = _props(synth, "AWS::EC2::FlowLog")
    assert flow_log["TrafficType"] == "REJECT"


def test_serverless_valkey_with_tls_encryption_and_iam_auth(
    cached: dict[str, Synthesized],
) -> None:
    synth = cached["cache"]
    (cache,) = _props(synth, "AWS::ElastiCache::ServerlessCache")
    assert cache["Engine"] == "valkey"
    # Serverless caches always encrypt at rest and require TLS; a user group enforces auth.
    assert "UserGroupId" in cache
    assert (
        cache["CacheUsageLimits"]["DataStorage"]["Maximum"]
        == synth.config.cache.max_data_storage_gb
    )
    users = {u["UserName"]: u for u in _props(synth, "AWS::ElastiCache::User")}
    assert users["default"]["AccessString"].startswith("off")
    (app_user,) = [u for name, u in users.items() if name != "default"]
    assert app_user["AuthenticationMode"] == {"Type": "iam"}
    assert app_user["UserId"] == app_user["UserName"]
    assert app_user["AccessString"] == f"on {names.ACL_RULES}"
    assert names.ACL_RULES.startswith("~sk:* -@all ") and names.ACL_RULES.endswith("-@dangerous")
    (function,) = _props(synth, "AWS::Lambda::Function")
    env = function["Environment"]["Variables"]
    assert env[names.ENV_CACHE_URL]["Fn::Join"][1][0] == "rediss://"  # TLS in transit
    assert env[names.ENV_CACHE_AUTH] == "iam"
    assert env[names.ENV_CACHE_CLUSTER] == "true"
    assert env[names.ENV_CACHE_USER] == app_user["UserId"]
    assert env[names.ENV_CACHE_NAME] == cache["ServerlessCacheName"]
    assert int(env[names.ENV_CACHE_TIMEOUT_MS]) < 100
    assert env[names.ENV_CACHE_ADMISSION] == synth.config.cache.admission == "auto"


def test_function_is_in_the_vpc_and_security_groups_open_only_the_cache_port(
    cached: dict[str, Synthesized],
) -> None:
    synth = cached["cache"]
    (function,) = _props(synth, "AWS::Lambda::Function")
    (client_sg,) = function["VpcConfig"]["SecurityGroupIds"]
    assert len(function["VpcConfig"]["SubnetIds"]) == synth.config.cache.max_azs
    (cache,) = _props(synth, "AWS::ElastiCache::ServerlessCache")
    (cache_sg,) = cache["SecurityGroupIds"]
    assert cache["SubnetIds"] == function["VpcConfig"]["SubnetIds"]
    for group in _props(synth, "AWS::EC2::SecurityGroup"):
        assert group.get("SecurityGroupIngress", []) == []
        for rule in group.get("SecurityGroupEgress", []):  # only CDK's "disallow all" marker
            assert rule["CidrIp"] == "255.255.255.255/32"
    (ingress,) = _props(synth, "AWS::EC2::SecurityGroupIngress")
    (egress,) = _props(synth, "AWS::EC2::SecurityGroupEgress")
    port = names.CACHE_PORT
    assert (ingress["FromPort"], ingress["ToPort"], ingress["IpProtocol"]) == (port, port, "tcp")
    assert (egress["FromPort"], egress["ToPort"], egress["IpProtocol"]) == (port, port, "tcp")
    assert ingress["GroupId"] == cache_sg and ingress["SourceSecurityGroupId"] == client_sg
    assert egress["GroupId"] == client_sg and egress["DestinationSecurityGroupId"] == cache_sg


def test_function_may_connect_to_this_cache_as_this_user_only(
    cached: dict[str, Synthesized],
) -> None:
    synth = cached["cache"]
    statements = {s.get("Sid"): s for _, s in synth.policy_statements()}
    connect = statements["ConnectToCache"]
    assert connect["Action"] == "elasticache:Connect"
    cache_id = next(iter(synth.resources("AWS::ElastiCache::ServerlessCache")))
    user_id = next(
        lid
        for lid, r in synth.resources("AWS::ElastiCache::User").items()
        if r["Properties"]["UserName"] != "default"
    )
    assert connect["Resource"] == [
        {"Fn::GetAtt": [cache_id, "ARN"]},
        {"Fn::GetAtt": [user_id, "Arn"]},
    ]
    assert "ReadInputReferences" not in statements
    for _, statement in synth.policy_statements():
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        assert not any(a == "*" or a.endswith(":*") for a in actions)


def test_inputs_by_reference_add_https_egress_and_read_only_those_buckets(
    cached: dict[str, Synthesized],
) -> None:
    synth = cached["cachedata"]
    egress = sorted(
        (e["FromPort"], e.get("CidrIp", "sg"))
        for e in _props(synth, "AWS::EC2::SecurityGroupEgress")
    )
    groups = _props(synth, "AWS::EC2::SecurityGroup")
    inline = [
        r
        for g in groups
        for r in g.get("SecurityGroupEgress", [])
        if r["CidrIp"] != "255.255.255.255/32"
    ]
    assert sorted([(r["FromPort"], r["CidrIp"]) for r in inline] + egress) == [
        (443, "0.0.0.0/0"),
        (names.CACHE_PORT, "sg"),
    ]
    statements = {s.get("Sid"): s for _, s in synth.policy_statements()}
    read = statements["ReadInputReferences"]
    assert read["Action"] == "s3:GetObject"
    assert BUCKET in str(read["Resource"]) and "/*" in str(read["Resource"])
    (function,) = _props(synth, "AWS::Lambda::Function")
    assert function["Environment"]["Variables"][names.ENV_CACHE_INPUT_BUCKETS] == BUCKET


def test_cache_variants_pass_cdk_nag_and_cfn_lint(cached: dict[str, Synthesized]) -> None:
    for synth in cached.values():
        report = synth.validation_report()
        violations = [
            v for plugin in report.get("pluginReports", []) for v in plugin.get("violations", [])
        ]
        assert violations == []
        assert AwsSolutionsChecks().validate_scope(synth.stack).violations == []
        annotations = Annotations.from_stack(synth.stack)
        assert annotations.find_error("*", Match.any_value()) == []
        assert annotations.find_warning("*", Match.any_value()) == []
        problems = [
            str(m)
            for m in lint_file(synth.template_path, ManualArgs(regions=REGIONS))
            if m.rule.id[0] in {"E", "W"}
        ]
        assert problems == []
        # The function in the VPC says why its role needs the ENI actions on any resource.
        reasons = {
            rule["id"]: rule["reason"]
            for logical_id, r in synth.template_json["Resources"].items()
            if logical_id.startswith("InferenceFunctionRole")
            for rule in r.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
        }
        assert "network interfaces" in reasons["AwsSolutions-IAM5[Resource::*]"]


def test_the_hybrid_session_path_gets_an_sqs_endpoint_reachable_from_the_cache_clients(
    cached: dict[str, Synthesized],
) -> None:
    synth = cached["cachesessions"]
    endpoints = {
        e["ServiceName"]["Fn::Join"][1][-1]: e for e in _props(synth, "AWS::EC2::VPCEndpoint")
    }
    assert sorted(endpoints) == [".dynamodb", ".s3", ".sqs"]
    sqs = endpoints[".sqs"]
    assert sqs["VpcEndpointType"] == "Interface" and sqs["PrivateDnsEnabled"] is True
    ports = sorted(
        (e["FromPort"], e["ToPort"]) for e in _props(synth, "AWS::EC2::SecurityGroupEgress")
    )
    assert ports == [(443, 443), (names.CACHE_PORT, names.CACHE_PORT)]


def test_config_rejects_bad_cache_values() -> None:
    base = load_cdk_json_context()[CONTEXT_KEY]
    with pytest.raises(ValueError, match=r"servekit\.cache\.max_azs"):
        parse_config({**base, "cache": {**base["cache"], "max_azs": 1}})
    with pytest.raises(ValueError, match=r"servekit\.cache\.admission"):
        parse_config({**base, "cache": {**base["cache"], "admission": "sometimes"}})
    with pytest.raises(ValueError, match=r"servekit\.cache\.unknown"):
        parse_config({**base, "cache": {**base["cache"], "unknown": 1}})
