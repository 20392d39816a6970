"""Helpers for the batch tests and bench: a local stack with the batch resources, drained by
the real SQS pollers into the real handlers, and direct onnxruntime results to compare with."""

from __future__ import annotations

import importlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from servekit.batch import shapes
from servekit_cli.local import batch as local_batch
from servekit_cli.local.poller import SqsPoller
from servekit_cli.local.stack import LocalStack
from tests.helpers import MODEL_DIR, LambdaContext, event_for

HANDLER_MODULES = (
    "servekit.handlers.batch_api",
    "servekit.handlers.batch_splitter",
    "servekit.handlers.batch_worker",
    "servekit.handlers.batch_schedule",
)


def digits_rows(count: int, seed: int = 0) -> npt.NDArray[np.int64]:
    """``count`` rows shaped like the digits dataset: 64 pixel values from 0 to 16."""
    return np.random.default_rng(seed).integers(0, 17, size=(count, 64))


def jsonl(rows: npt.NDArray[Any]) -> bytes:
    return b"".join(orjson.dumps(row.tolist()) + b"\n" for row in rows)


def csv(rows: npt.NDArray[Any], header: bool = True) -> bytes:
    lines = [",".join(f"p{i}" for i in range(rows.shape[1]))] if header else []
    lines += [",".join(str(v) for v in row.tolist()) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode()


def reference(model: str, rows: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
    """Probabilities straight from onnxruntime, as one batched call."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(MODEL_DIR / model / "model.onnx"))
    (probabilities,) = session.run(["probabilities"], {"input": rows.astype(np.float32)})
    return np.asarray(probabilities)


@dataclass
class BatchStack:
    """The running local stack, its clients, the handler modules and a poller per queue."""

    stack: LocalStack
    outputs: dict[str, str]
    s3: Any
    dynamodb: Any
    sqs: Any
    modules: dict[str, Any]
    splitter: SqsPoller
    worker: SqsPoller

    @property
    def bucket(self) -> str:
        return self.outputs[shapes.OUTPUT_BATCH_BUCKET]

    def upload(self, key: str, data: bytes) -> str:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=data)
        return f"s3://{self.bucket}/{key}"

    def api(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        raw = None if body is None else (body if isinstance(body, bytes) else orjson.dumps(body))
        headers = {"content-type": "application/json"} if raw is not None else {}
        response = self.modules["batch_api"].handler(
            event_for(method, path, raw, headers), LambdaContext(function_name="batch-api")
        )
        return response["statusCode"], orjson.loads(response["body"])

    def drain(self) -> None:
        """Run the splitter, then the workers, until both queues are idle."""
        self.splitter.drain(idle_polls=1)
        self.worker.drain(idle_polls=1)

    def keys(self, prefix: str = "") -> list[str]:
        listed = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=prefix)
        return sorted(item["Key"] for item in listed.get("Contents", []))

    def read(self, key: str) -> bytes:
        data: bytes = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return data

    def results(self, batch_id: str) -> list[dict[str, Any]]:
        """Every output row, in input order, read the way a user would: index, then parts."""
        prefix = shapes.output_prefix(batch_id)
        index = orjson.loads(self.read(prefix + shapes.OUTPUT_INDEX))
        rows: list[dict[str, Any]] = []
        for part in index["parts"]:
            rows += [orjson.loads(line) for line in io.BytesIO(self.read(prefix + part["key"]))]
        return rows

    def table_items(self) -> list[dict[str, Any]]:
        table = self.outputs[shapes.OUTPUT_BATCH_TABLE]
        items: list[dict[str, Any]] = self.dynamodb.scan(TableName=table)["Items"]
        return items

    def take_dead_letters(self, output_key: str) -> list[dict[str, Any]]:
        """Receive and delete every message of a DLQ (by its output key), attributes and all."""
        taken: list[dict[str, Any]] = []
        while True:
            received = self.sqs.receive_message(
                QueueUrl=self.outputs[output_key],
                MaxNumberOfMessages=10,
                MessageAttributeNames=["All"],
                MessageSystemAttributeNames=["All"],
            ).get("Messages", [])
            if not received:
                return taken
            for message in received:
                self.sqs.delete_message(
                    QueueUrl=self.outputs[output_key], ReceiptHandle=message["ReceiptHandle"]
                )
            taken += received

    def queue_depth(self, output_key: str) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.outputs[output_key],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )


def start_batch_stack(state_file: Path) -> BatchStack:
    """Start moto with the batch resources (env exported), then import the handlers afresh."""
    import boto3

    stack = LocalStack([local_batch.provision], state_file=state_file, poll=False).start()
    modules = {}
    for name in HANDLER_MODULES:
        module = importlib.import_module(name)
        modules[name.rsplit(".", 1)[1]] = importlib.reload(module)  # build on this stack's env
    region = stack.emulator.region
    sqs = boto3.client("sqs", region_name=region)
    resources = stack.resources
    split_binding, chunk_binding = resources.bindings
    return BatchStack(
        stack=stack,
        outputs=resources.outputs,
        s3=boto3.client("s3", region_name=region),
        dynamodb=boto3.client("dynamodb", region_name=region),
        sqs=sqs,
        modules=modules,
        splitter=SqsPoller(sqs, split_binding, region=region, wait_s=0),
        worker=SqsPoller(sqs, chunk_binding, region=region, wait_s=0),
    )
