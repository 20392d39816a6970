"""The pipelines' constructs in the synthesized stack (cdk.json's pipelines.json): a Lambda
per function-placed step with its own layer (Pillow for digits-image's decode), memory and
alarms; the routers' layer stays without Pillow and they may invoke those functions only."""

from __future__ import annotations

import json
import zipfile
from typing import Any

from servekit.pipelines.shapes import ENV_PIPELINE_STEP, ENV_PIPELINE_STEP_FUNCTIONS, STEP_HANDLER
from tests.infra.conftest import Synthesized

STEP = "digits-image/decode"


def _functions(synth: Synthesized) -> dict[str, dict[str, Any]]:
    return synth.resources("AWS::Lambda::Function")


def _step(synth: Synthesized) -> tuple[str, dict[str, Any]]:
    found = [
        (lid, fn)
        for lid, fn in _functions(synth).items()
        if fn["Properties"]["Handler"] == STEP_HANDLER
    ]
    assert len(found) == 1, found  # only the decode step is placed as function
    return found[0]


def _layer_zip(synth: Synthesized, ref: dict[str, Any]) -> zipfile.ZipFile:
    layer = synth.template_json["Resources"][ref["Ref"]]
    key = layer["Properties"]["Content"]["S3Key"]  # the zip, staged as asset.<hash>.zip
    return zipfile.ZipFile(synth.outdir / f"asset.{key}")


def test_the_decode_step_has_its_own_function_memory_and_pillow_layer(synth: Synthesized) -> None:
    _, step = _step(synth)
    properties = step["Properties"]
    assert properties["MemorySize"] == 512 and properties["Timeout"] == 10
    assert properties["Environment"]["Variables"][ENV_PIPELINE_STEP] == STEP
    dependencies, own = properties["Layers"]
    assert any(n.startswith("python/PIL/") for n in _layer_zip(synth, own).namelist())
    assert not any(n.startswith("python/PIL/") for n in _layer_zip(synth, dependencies).namelist())


def test_the_routers_have_no_pillow_and_invoke_only_the_step_functions(
    synth: Synthesized,
) -> None:
    step_id, _ = _step(synth)
    routers = [
        fn
        for fn in _functions(synth).values()
        if ENV_PIPELINE_STEP_FUNCTIONS
        in fn["Properties"].get("Environment", {}).get("Variables", {})
    ]
    assert routers  # the inference function (and the jobs worker, when jobs are on)
    for router in routers:
        assert len(router["Properties"]["Layers"]) == 1  # the dependencies layer alone
        variable = router["Properties"]["Environment"]["Variables"][ENV_PIPELINE_STEP_FUNCTIONS]
        assert STEP in json.dumps(variable) and step_id in json.dumps(variable)
    invokes = [
        s for _, s in synth.policy_statements() if "lambda:InvokeFunction" in str(s["Action"])
    ]
    assert invokes
    for statement in invokes:
        assert statement["Resource"] == {"Fn::GetAtt": [step_id, "Arn"]}  # no wildcard, no alias
    roles = {
        r["Ref"]
        for _, s in synth.resources("AWS::IAM::Policy").items()
        for r in s["Properties"]["Roles"]
        if "lambda:InvokeFunction" in json.dumps(s)
    }
    assert len(roles) == len(routers)


def test_each_step_function_has_its_own_error_and_throttle_alarms(synth: Synthesized) -> None:
    step_id, _ = _step(synth)
    alarms = [
        a["Properties"]
        for a in synth.resources("AWS::CloudWatch::Alarm").values()
        if {"Name": "FunctionName", "Value": {"Ref": step_id}}
        in a["Properties"].get("Dimensions", [])
    ]
    assert sorted(a["MetricName"] for a in alarms) == ["Errors", "Throttles"]
    assert all(a["Threshold"] == 0 for a in alarms)
