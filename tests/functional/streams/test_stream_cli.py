"""``servekit stream put | tail | failures`` against what `make run` starts: the moto server,
the stream resources and the Kinesis poller invoking the consumer Lambda in the background."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from servekit_cli.__main__ import main
from servekit_cli.local import streams as local_streams
from servekit_cli.local.stack import LocalStack
from tests.functional.streams.conftest import digits_row


@pytest.fixture
def stack(
    serving_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[LocalStack]:
    monkeypatch.chdir(tmp_path)
    sys.modules.pop("servekit.handlers.stream_consumer", None)  # a cold start on this stack
    saved = dict(os.environ)
    try:
        state = tmp_path / ".servekit/local.json"
        with LocalStack([local_streams.provision], state_file=state) as s:
            yield s
    finally:
        os.environ.clear()
        os.environ.update(saved)


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[Any], str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    # The consumer runs in this process too: its Powertools log and metric lines share stdout.
    documents = [orjson.loads(line) for line in captured.out.splitlines() if line.strip()]
    ours = [d for d in documents if not ({"level", "_aws"} & d.keys())]
    return code, ours, captured.err


def test_put_then_tail_in_order_and_read_the_poison_records(
    stack: LocalStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = tmp_path / "events.jsonl"
    lines = [
        {"card": f"c{n % 3}", "id": f"e{n}", "inputs": [digits_row(n % 16)]} for n in range(12)
    ]
    lines[4] = {"card": "c1", "id": "e4", "model": "no-such-model", "inputs": [digits_row()]}
    text = "\n".join(orjson.dumps(line).decode() for line in lines)
    events.write_text(text + '\n{"card": "c0", "inputs": "oops"}\n')

    code, out, err = run_cli(capsys, "stream", "put", str(events), "--partition-key", "card")
    assert code == 1  # one line refused before it was put
    assert out[0]["line"] == 13 and out[0]["status"] == "REJECTED"
    assert out[-1]["put"] == 12
    assert "putting [" in err

    results: list[Any] = []
    for _ in range(300):  # the background poller: wait for it, never for a fixed time
        results = run_cli(capsys, "stream", "tail")[1]
        if len(results) == 11:
            break
        time.sleep(0.1)
    assert len(results) == 11
    for card in ("c0", "c1", "c2"):
        expected = [line["id"] for line in lines if line["card"] == card and line["id"] != "e4"]
        assert [r["id"] for r in results if r["partition_key"] == card] == expected

    code, failures, _ = run_cli(capsys, "stream", "failures")
    assert code == 0
    assert [(f["id"], f["code"], f["partition_key"]) for f in failures] == [
        ("e4", "unknown_model", "c1")
    ]


def test_without_a_local_stack_the_cli_says_how_to_start_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(capsys, "stream", "tail")
    assert code == 2
    assert "make run" in err
