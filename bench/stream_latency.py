"""End-to-end latency of the local stream: put → result on the output stream, p50/p99, at a
fixed input rate and at twice that rate.

Starts what `make run` starts for the stream (the moto server, the streams, the Kinesis
poller invoking the consumer handler) in this process; a producer puts one-row digits-mlp
records at ``RATE`` records/s for ``SECONDS`` seconds, a reader follows the output stream and
notes when each result arrives. Everything is local, so the figure is the kit's own path plus
moto's (an emulator, slower than Kinesis) and the poller's pacing: read it as "how latency
grows when the rate doubles", not as AWS's numbers.

Run: python bench/stream_latency.py
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import MODEL_DIR, apply_env, emit, percentile, require_models

RATE = 40
SECONDS = 8


def _run(kinesis: Any, rate: int, tag: str, rows: list[Any]) -> dict[str, float]:
    import orjson

    from servekit.streams import shapes as c

    sent: dict[str, float] = {}
    got: dict[str, float] = {}
    done = threading.Event()

    def read() -> None:
        shards = kinesis.list_shards(StreamName=c.LOCAL_OUTPUT_STREAM)["Shards"]
        iterators = [
            kinesis.get_shard_iterator(
                StreamName=c.LOCAL_OUTPUT_STREAM, ShardId=s["ShardId"], ShardIteratorType="LATEST"
            )["ShardIterator"]
            for s in shards
        ]
        while not done.is_set():
            for index, iterator in enumerate(iterators):
                response = kinesis.get_records(ShardIterator=iterator, Limit=1000)
                iterators[index] = response["NextShardIterator"]
                for record in response["Records"]:
                    got.setdefault(orjson.loads(record["Data"])["id"], time.perf_counter())
            time.sleep(0.01)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    time.sleep(0.5)  # the reader's LATEST iterators exist before the first put
    total = rate * SECONDS
    started = time.perf_counter()
    for i in range(total):
        time.sleep(max(0.0, started + i / rate - time.perf_counter()))
        record_id = f"{tag}-{i}"
        body = {"id": record_id, "model": "digits-mlp", "inputs": [rows[i % len(rows)]]}
        sent[record_id] = time.perf_counter()
        kinesis.put_record(
            StreamName=c.LOCAL_INPUT_STREAM, Data=orjson.dumps(body), PartitionKey=f"k{i % 8}"
        )
    deadline = time.perf_counter() + 30
    while len(got) < total and time.perf_counter() < deadline:
        time.sleep(0.05)
    done.set()
    reader.join(5)
    latencies = [(got[k] - sent[k]) * 1000 for k in sent if k in got]
    return {
        "rate_per_s": rate,
        "records": total,
        "answered": len(latencies),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
    }


def main() -> None:
    require_models()
    apply_env()
    import boto3
    import orjson

    from servekit_cli.local import streams as local_streams
    from servekit_cli.local.stack import LocalStack

    rows = orjson.loads((MODEL_DIR / "digits-mlp" / "example_request.json").read_bytes())["inputs"]
    with LocalStack([local_streams.provision], state_file=None) as stack:
        kinesis = boto3.client(
            "kinesis", endpoint_url=stack.emulator.endpoint_url, region_name=stack.emulator.region
        )
        _run(kinesis, RATE, "warmup", rows[:1])  # the handler's cold start is not counted
        base = _run(kinesis, RATE, "base", rows)
        double = _run(kinesis, 2 * RATE, "double", rows)
    emit(
        {
            "base": base,
            "double": double,
            "p50_growth": round(double["p50_ms"] / max(base["p50_ms"], 0.1), 2),
            "p99_growth": round(double["p99_ms"] / max(base["p99_ms"], 0.1), 2),
        }
    )


if __name__ == "__main__":
    main()
