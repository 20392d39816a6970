"""The hybrid path's message (one format written and read) and the events worker's outcomes."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from servekit.errors import ApiError
from servekit.sessions.errors import (
    RETRY_AFTER_S,
    SessionBusyError,
    StoreUnavailableError,
    to_api_error,
)
from servekit.sessions.forwarding import EventForwarder
from servekit.sessions.message import SessionEventsMessage, decode_message
from servekit.sessions.metrics import SessionMetrics
from servekit.sessions.worker import SessionEventsWorker
from servekit.sqs import Done, Message, Poison, Retry, consume


class _Sqs:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_message(self, **kwargs: Any) -> dict[str, Any]:
        self.sent.append(kwargs)
        return {"MessageId": f"m-{len(self.sent)}"}


def test_what_the_forwarder_writes_is_what_the_worker_reads() -> None:
    sqs = _Sqs()
    forwarder = EventForwarder("https://queue", client_factory=lambda: sqs)
    send = forwarder.prepare({"id": "s-1", "events": [{"item": "item-03", "id": "e-1"}]})
    assert send()["forwarded"] is True
    decoded = decode_message(sqs.sent[0]["MessageBody"])
    assert (decoded.session_id, decoded.source) == ("s-1", "predict")
    assert [(e["id"], e["item"], e["type"]) for e in decoded.events] == [("e-1", "item-03", "view")]
    assert decode_message(decoded.encode()) == decoded


def test_a_direct_send_without_source_decodes() -> None:
    body = orjson.dumps({"session_id": "bob", "events": [{"item": "item-12"}]})
    assert decode_message(body) == SessionEventsMessage("bob", [{"item": "item-12"}])


@pytest.mark.parametrize("body", ["not json", "[]", '{"events": []}', '{"session_id": 7}'])
def test_a_body_that_is_no_session_message_is_refused(body: str) -> None:
    with pytest.raises(ApiError) as caught:
        decode_message(body)
    assert (caught.value.status, caught.value.code) == (422, "invalid_message")


class _Service:
    """Answers ``append_events`` with the next of ``answers`` (an exception is raised)."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.metrics = SessionMetrics(_Sink())  # type: ignore[arg-type]
        self.calls: list[tuple[str, Any]] = []

    def append_events(self, session_id: str, events: Any) -> dict[str, Any]:
        self.calls.append((session_id, events))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return dict(answer)


class _Sink:
    def __init__(self) -> None:
        self.added: list[str] = []

    def add_metric(self, name: str, unit: Any, value: float) -> None:
        self.added.append(name)


def _message(body: Any, message_id: str = "m-1") -> Message:
    return Message(message_id, body if isinstance(body, str) else orjson.dumps(body).decode())


BODY = {"session_id": "s-1", "events": [{"item": "item-01", "id": "e-1"}]}


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        ({"appended": 1}, Done()),
        ({"appended": 0}, Done()),  # a redelivery: already applied
        (ApiError(422, "unknown_item", "events[0].item 'item-99' is unknown"), "unknown_item"),
        (ApiError(400, "invalid_session_id", "session id 'a b' is invalid"), "invalid_session_id"),
        (to_api_error(StoreUnavailableError("ThrottlingException"), "s-1"), Retry),
        (to_api_error(SessionBusyError("lost"), "s-1"), Retry),
        (RuntimeError("unforeseen"), Retry),
    ],
)
def test_each_failure_gets_its_outcome(answer: Any, outcome: Any) -> None:
    service = _Service(answer)
    worker = SessionEventsWorker(service)  # type: ignore[arg-type]
    (got,) = worker.process([_message(BODY)]).values()
    assert service.calls == [("s-1", BODY["events"])]
    if outcome is Retry:
        assert isinstance(got, Retry) and "'s-1'" in got.reason
    elif isinstance(outcome, str):
        assert isinstance(got, Poison) and got.code == outcome and not got.recorded
        assert answer.message in got.reason
    else:
        assert got == outcome


def test_an_unusable_record_is_poison_not_retried() -> None:
    from servekit.sessions.migration import CorruptRecordError

    error = to_api_error(CorruptRecordError("events is not a list"), "s-1")
    worker = SessionEventsWorker(_Service(error))  # type: ignore[arg-type]
    (got,) = worker.process([_message(BODY)]).values()
    assert isinstance(got, Poison) and got.code == "session_record_corrupt"


def test_an_undecodable_message_never_reaches_the_service() -> None:
    service = _Service()
    (got,) = SessionEventsWorker(service).process([_message("{")]).values()  # type: ignore[arg-type]
    assert isinstance(got, Poison) and got.code == "invalid_message"
    assert service.calls == []


class _Dlq:
    def __init__(self) -> None:
        self.moved: list[tuple[str, str]] = []

    def send(self, message: Message, poison: Poison) -> None:
        self.moved.append((message.message_id, poison.code))


def test_through_the_consumer_poison_is_moved_and_only_retries_come_back() -> None:
    service = _Service(
        {"appended": 1},
        ApiError(422, "invalid_event", "bad"),
        ApiError(
            503, "session_store_unavailable", "slow down", {"Retry-After": str(RETRY_AFTER_S)}
        ),
    )
    dlq = _Dlq()
    worker = SessionEventsWorker(service, dead_letters=dlq)  # type: ignore[arg-type]
    event = {
        "Records": [
            {"messageId": f"m-{i}", "body": orjson.dumps(BODY).decode(), "attributes": {}}
            for i in range(3)
        ]
    }
    response = consume(
        event,
        worker,
        capability="sessions",
        dead_letters=worker.dead_letters,
        metrics=worker.metrics,
    )
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-2"}]}
    assert dlq.moved == [("m-1", "invalid_event")]
    assert service.metrics.sink.added == ["SessionsPoisonMessages", "SessionsRetriedMessages"]  # type: ignore[attr-defined]
