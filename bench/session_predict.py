"""Session predict latency against a stateless predict on the same model, same run.

Three paths, interleaved in one loop so machine noise hits them alike:

* ``stateless``: ``InferenceService.predict`` (the ``/predict`` route's service call) on the
  session model ``session-recs-v2``, the client sending the encoded history itself;
* ``session_read``: ``POST /sessions/{id}/predict`` without an event (consistent GetItem +
  decode + encode + infer);
* ``session_write``: ``POST /sessions/{id}/predict`` with a new event (GetItem + infer +
  conditional PutItem): the stateful path's full cost.

DynamoDB is moto in-process (``mock_aws``), whose own cost is large next to real DynamoDB's
single-digit milliseconds; a bare ``get_item`` and ``put_item`` of a same-sized record are
timed in the same loop so the report says how much of the gap is moto itself.

Run: python bench/session_predict.py
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import MODEL_DIR, apply_env, emit, require_models, summary_ms

WARMUP = 50
ITERATIONS = 600
SESSIONS = 50
HISTORY = 20
MODEL = "session-recs-v2"


def main() -> None:
    require_models()
    apply_env(
        {
            "SERVEKIT_MODELS": MODEL,
            "SERVEKIT_DEFAULT_MODEL": MODEL,
            "SERVEKIT_SESSIONS_TABLE": "bench-sessions",
            "SERVEKIT_SESSIONS_MODEL": MODEL,
            # Histories stay at HISTORY events (the oldest trimmed), the size of the bare
            # record timed below: moto's cost grows with the item's size.
            "SERVEKIT_SESSIONS_MAX_EVENTS": str(HISTORY),
            "POWERTOOLS_METRICS_DISABLED": "true",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "eu-west-1",
        }
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    from moto import mock_aws

    with mock_aws(), open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        figures = run()  # the EMF metric blobs Powertools prints are not our output
    emit(figures)


def run() -> dict[str, Any]:
    import boto3

    from servekit.inference.codec import PredictionRequest
    from servekit.inference.wiring import build_inference_service
    from servekit.sessions.codec import AppendRequest, SessionPredictionRequest
    from servekit.sessions.shapes import ATTR_EXPIRES_AT, TABLE_PARTITION_KEY
    from servekit.sessions.wiring import build_service

    client = boto3.client("dynamodb")
    client.create_table(
        TableName="bench-sessions",
        AttributeDefinitions=[{"AttributeName": TABLE_PARTITION_KEY, "AttributeType": "S"}],
        KeySchema=[{"AttributeName": TABLE_PARTITION_KEY, "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.update_time_to_live(
        TableName="bench-sessions",
        TimeToLiveSpecification={"Enabled": True, "AttributeName": ATTR_EXPIRES_AT},
    )
    stateless = build_inference_service()
    sessions = build_service(client=client)
    example = json.loads((MODEL_DIR / MODEL / "example_request.json").read_text())
    items = sessions.model.items

    for s in range(SESSIONS):
        events = [{"item": items[(s + i) % len(items)], "type": "view"} for i in range(HISTORY)]
        sessions.append(f"bench-{s}", AppendRequest(events))
    record = client.get_item(
        TableName="bench-sessions", Key={TABLE_PARTITION_KEY: {"S": "bench-0"}}
    )["Item"]
    stateless_body = PredictionRequest(inputs=example["inputs"], model=MODEL)
    read_body = SessionPredictionRequest(k=5)

    timings: dict[str, list[int]] = {
        k: [] for k in ("stateless", "session_read", "session_write", "moto_get", "moto_put")
    }
    for i in range(WARMUP + ITERATIONS):
        sid = f"bench-{i % SESSIONS}"
        write_body = SessionPredictionRequest(
            k=5, events={"item": items[i % len(items)], "type": "cart"}, single_event=True
        )
        steps = (
            ("stateless", lambda: stateless.predict(stateless_body)),
            ("session_read", lambda s=sid: sessions.predict(s, read_body)),
            (
                "session_write",
                lambda s=sid, b=write_body: sessions.predict(s, b),
            ),
            (
                "moto_get",
                lambda: client.get_item(
                    TableName="bench-sessions",
                    Key={TABLE_PARTITION_KEY: {"S": "bare"}},
                    ConsistentRead=True,
                ),
            ),
            (
                "moto_put",
                lambda: client.put_item(
                    TableName="bench-sessions",
                    Item={**record, TABLE_PARTITION_KEY: {"S": "bare"}},
                ),
            ),
        )
        for name, step in steps:
            started = time.perf_counter_ns()
            step()
            if i >= WARMUP:
                timings[name].append(time.perf_counter_ns() - started)

    figures: dict[str, Any] = {name: summary_ms(values) for name, values in timings.items()}
    stateless_ms = figures["stateless"]["median_ms"]
    write_ms = figures["session_write"]["median_ms"]
    moto_ms = figures["moto_get"]["median_ms"] + figures["moto_put"]["median_ms"]
    figures["ratio_session_write_to_stateless_median"] = round(write_ms / stateless_ms, 2)
    figures["ratio_session_write_to_stateless_p99"] = round(
        figures["session_write"]["p99_ms"] / figures["stateless"]["p99_ms"], 2
    )
    figures["ratio_session_read_to_stateless_median"] = round(
        figures["session_read"]["median_ms"] / stateless_ms, 2
    )
    figures["moto_share_of_session_write_median"] = round(moto_ms / write_ms, 3)
    figures["session_write_minus_moto_minus_stateless_median_ms"] = round(
        write_ms - moto_ms - stateless_ms, 4
    )
    figures["write_conflicts"] = sessions.store.conflicts
    figures["iterations"] = ITERATIONS
    figures["history_events"] = HISTORY
    return figures


if __name__ == "__main__":
    main()
