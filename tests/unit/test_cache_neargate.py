"""The near-cache gate (servekit.cache.neargate): when a local model's near cache pauses."""

from __future__ import annotations

from servekit.cache.neargate import MIN_HIT_RATIO, WINDOW_ROWS, NearGate


def rows(start: int, count: int) -> list[bytes]:
    return [i.to_bytes(8, "little") * 32 for i in range(start, start + count)]


def watch(gate: NearGate, request: list[bytes]) -> None:
    """One request of these rows (each the same size) ran on the model, the gate closed."""
    gate.watch("m", b"".join(request), len(request))


def test_open_until_a_window_of_rows_finds_too_few_hits() -> None:
    gate = NearGate(capacity=4096)
    assert gate.is_open("m")
    gate.served("m", rows=WINDOW_ROWS - 1, hits=0)
    assert gate.is_open("m")  # not a whole window yet
    gate.served("m", rows=1, hits=0)
    assert not gate.is_open("m")
    assert gate.is_open("other")  # per model


def test_a_near_cache_that_hits_often_enough_stays_open() -> None:
    gate = NearGate(capacity=4096)
    hits = int(MIN_HIT_RATIO * WINDOW_ROWS) + 1
    for _ in range(10):
        gate.served("m", rows=WINDOW_ROWS, hits=hits)
    assert gate.is_open("m")


def test_paused_it_opens_again_when_rows_repeat() -> None:
    gate = NearGate(capacity=4096)
    gate.served("m", rows=WINDOW_ROWS, hits=0)
    watch(gate, rows(0, WINDOW_ROWS))  # all new: stays paused
    assert not gate.is_open("m")
    repeats = int(MIN_HIT_RATIO * WINDOW_ROWS) + 1
    watch(gate, rows(10_000, WINDOW_ROWS - repeats))
    assert not gate.is_open("m")
    watch(gate, rows(0, repeats))  # rows seen in the window before: a near cache would hit
    assert gate.is_open("m")


def test_repeats_within_one_request_count_and_memory_is_bounded() -> None:
    gate = NearGate(capacity=100)
    gate.served("m", rows=WINDOW_ROWS, hits=0)
    for start in range(0, 10 * WINDOW_ROWS, 50):
        watch(gate, rows(start, 50))
    state = gate._models["m"]
    assert len(state.recent) == len(state.order) == 100  # only as many as the near cache holds
    assert not gate.is_open("m")
    watch(gate, rows(99_999, 1) * WINDOW_ROWS)  # one row, again and again
    assert gate.is_open("m")
    assert not gate._models["m"].recent  # open: nothing remembered


def test_reopened_it_is_judged_once_the_near_cache_could_have_filled() -> None:
    gate = NearGate(capacity=4 * WINDOW_ROWS)
    gate.served("m", rows=WINDOW_ROWS, hits=0)
    watch(gate, rows(0, WINDOW_ROWS // 2) * 2)  # every row twice: reopens
    assert gate.is_open("m")
    gate.served("m", rows=3 * WINDOW_ROWS, hits=0)  # empty after the pause: no hits yet
    assert gate.is_open("m")
    gate.served("m", rows=WINDOW_ROWS, hits=0)  # a near cache's worth of rows, none hit
    assert not gate.is_open("m")
