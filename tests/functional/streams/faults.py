"""Faults for the stream tests, around the real parts: the inference seam
(:class:`CountingRun`) and the real (moto) Kinesis client of the output stream.

``ThrottledKinesis`` refuses some records of a PutRecords call the way Kinesis does under
throttling: the call succeeds, the refused records come back with an ``ErrorCode`` and are not
written. ``die_on_call`` writes part of a call, then ends the invocation (:class:`WorkerDied`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from servekit.jobs.runner import predict
from servekit.runtime.model import LoadedModel, Prediction

__all__ = ["CountingRun", "ThrottledFirehose", "ThrottledKinesis", "WorkerDied"]


class WorkerDied(BaseException):
    """The invocation ends mid-batch (a timeout, a crash): no except clause of the consumer
    sees it; the event source mapping sees a function error."""


@dataclass
class CountingRun:
    """The row classifier's seam: counts onnxruntime calls, fails the calls it is told to."""

    calls: int = 0
    rows: list[int] = field(default_factory=list)
    fail_calls: set[int] = field(default_factory=set)

    def __call__(self, model: LoadedModel, tensor: Any) -> Prediction:
        self.calls += 1
        if self.calls in self.fail_calls:
            raise RuntimeError(f"injected inference fault (call {self.calls})")
        self.rows.append(len(tensor))
        return predict(model, tensor)


Refuse = Callable[[int, int], bool]
"""(call number from 1, index in the call) → refuse that record."""


@dataclass
class ThrottledKinesis:
    client: Any
    refuse: Refuse = lambda call, index: False
    die_on_call: int | None = None
    """On this call, write the first half of the records, then die."""
    calls: int = 0
    refused: list[int] = field(default_factory=list)

    def put_records(self, *, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803 - boto3's names
        self.calls += 1
        if self.calls == self.die_on_call:
            self.client.put_records(StreamName=StreamName, Records=Records[: len(Records) // 2])
            raise WorkerDied
        kept = [r for i, r in enumerate(Records) if not self.refuse(self.calls, i)]
        written = iter(
            self.client.put_records(StreamName=StreamName, Records=kept)["Records"] if kept else []
        )
        results = []
        for index in range(len(Records)):
            if self.refuse(self.calls, index):
                self.refused.append(index)
                results.append(
                    {
                        "ErrorCode": "ProvisionedThroughputExceededException",
                        "ErrorMessage": "Rate exceeded for shard shardId-000000000000",
                    }
                )
            else:
                results.append(next(written))
        return {"FailedRecordCount": len(Records) - len(kept), "Records": results}


@dataclass
class ThrottledFirehose:
    """PutRecordBatch refusing the records ``refuse`` names, as Firehose does when throttled:
    the call succeeds, the refused records carry an ``ErrorCode`` and are not delivered."""

    client: Any
    refuse: Refuse = lambda call, index: False
    calls: int = 0
    refused: list[int] = field(default_factory=list)

    def put_record_batch(
        self,
        *,
        DeliveryStreamName: str,  # noqa: N803 - boto3's names
        Records: list[dict[str, Any]],  # noqa: N803
    ) -> dict[str, Any]:
        self.calls += 1
        refused = [i for i in range(len(Records)) if self.refuse(self.calls, i)]
        kept = [r for i, r in enumerate(Records) if i not in refused]
        if kept:
            self.client.put_record_batch(DeliveryStreamName=DeliveryStreamName, Records=kept)
        self.refused += refused
        error = {"ErrorCode": "ServiceUnavailableException", "ErrorMessage": "Slow down."}
        return {
            "FailedPutCount": len(refused),
            "Encrypted": True,
            "RequestResponses": [
                error if i in refused else {"RecordId": f"{self.calls}-{i}"}
                for i in range(len(Records))
            ],
        }
