"""``servekit batch ... --wait`` stops on exactly the batch statuses the runtime calls final."""

from __future__ import annotations

from typing import Any

import pytest

from servekit.batch.shapes import FINAL_STATUSES, BatchStatus
from servekit_cli import batch

EVERY_STATUS = sorted(value for name, value in vars(BatchStatus).items() if name.isupper())


class ScriptedApi:
    """Answers ``GET /batches/{id}`` with the given statuses, one per call."""

    def __init__(self, *statuses: str) -> None:
        self.statuses = list(statuses)
        self.calls = 0

    def get(self, path: str) -> dict[str, Any]:
        status = self.statuses[min(self.calls, len(self.statuses) - 1)]
        self.calls += 1
        return {
            "status": status,
            "chunks": {"total": 1, "done": 0, "failed": 0},
            "output": "s3://bucket/batches/b/output/",
        }


def test_every_status_is_known() -> None:
    assert {"SPLITTING", "RUNNING", "COMPLETE", "PARTIAL", "FAILED"} <= set(EVERY_STATUS)
    assert set(EVERY_STATUS) > FINAL_STATUSES


@pytest.mark.parametrize("status", EVERY_STATUS)
def test_wait_stops_on_a_final_status_and_polls_on_through_the_others(
    status: str, capsys: pytest.CaptureFixture[str]
) -> None:
    api = ScriptedApi(status, BatchStatus.COMPLETE)
    code = batch._wait(api, "b", timeout_s=60, poll_s=0)  # type: ignore[arg-type]
    final = status in FINAL_STATUSES
    assert api.calls == (1 if final else 2)
    ended = status if final else BatchStatus.COMPLETE
    assert code == (0 if ended == BatchStatus.COMPLETE else 1)
    assert capsys.readouterr().err.rstrip().splitlines()[0].endswith(status)


def test_wait_gives_up_at_its_timeout_instead_of_hanging(
    capsys: pytest.CaptureFixture[str],
) -> None:
    api = ScriptedApi(BatchStatus.RUNNING)  # never final
    assert batch._wait(api, "b", timeout_s=0, poll_s=0) == 1  # type: ignore[arg-type]
    assert "still RUNNING after 0 s" in capsys.readouterr().err
