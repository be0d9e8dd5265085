"""A run's chunk writes happen in order, one at a time, and a failed write fails the run."""

from __future__ import annotations

import contextvars
import threading
from functools import partial

import pytest

from repayguard.decisions.book import Stopwatch
from repayguard.decisions.writer import ChunkWriter


@pytest.mark.parametrize("behind", [True, False])
def test_chunks_are_written_in_order_one_at_a_time(behind: bool) -> None:
    written: list[int] = []
    busy = threading.Lock()

    def write(chunk: int) -> None:
        # A second write starting before the first finished would find the lock taken.
        assert busy.acquire(blocking=False)
        try:
            written.append(chunk)
        finally:
            busy.release()

    with ChunkWriter(behind=behind, watch=Stopwatch()) as writer:
        for chunk in range(5):
            writer.write(partial(write, chunk))

    assert written == [0, 1, 2, 3, 4]


def test_the_writes_are_finished_when_the_writer_is_left() -> None:
    release = threading.Event()
    done: list[str] = []

    def slow() -> None:
        release.wait(timeout=30)
        done.append("written")

    with ChunkWriter(behind=True, watch=Stopwatch()) as writer:
        writer.write(slow)
        assert done == []  # written in the background
        release.set()

    assert done == ["written"]


def test_a_failed_write_fails_the_run_at_the_next_write() -> None:
    def broken() -> None:
        raise RuntimeError("disk full")

    later: list[str] = []
    with ChunkWriter(behind=True, watch=Stopwatch()) as writer:
        writer.write(broken)
        with pytest.raises(RuntimeError, match="disk full"):
            writer.write(lambda: later.append("never"))

    assert later == []


def test_a_failed_last_write_fails_the_run_on_leaving() -> None:
    def broken() -> None:
        raise RuntimeError("disk full")

    with (
        pytest.raises(RuntimeError, match="disk full"),
        ChunkWriter(behind=True, watch=Stopwatch()) as writer,
    ):
        writer.write(broken)


def test_a_write_sees_the_runs_context() -> None:
    actor: contextvars.ContextVar[str] = contextvars.ContextVar("actor", default="nobody")
    actor.set("operator")
    seen: list[str] = []

    with ChunkWriter(behind=True, watch=Stopwatch()) as writer:
        writer.write(lambda: seen.append(actor.get()))

    assert seen == ["operator"]
