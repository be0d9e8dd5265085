"""kill -9 at every crash point of the outbox path: 0 lost, 0 phantom, 0 doubled effects."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

WORKER = Path(__file__).with_name("crash_worker.py")
TESTS = Path(__file__).parents[1]
"""Where the worker finds ``support`` (its facts), as pytest finds it for the tests."""
COUNT = 5


def _run(database_url: str, point: str) -> int:
    return subprocess.run(
        [sys.executable, str(WORKER), database_url, point, str(COUNT)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])),
        },
    ).returncode


@pytest.mark.parametrize(
    ("point", "committed"),
    [
        ("before_commit", COUNT - 1),
        ("after_commit", COUNT),
        ("in_consumer", COUNT),
        ("after_consumer", COUNT),
    ],
)
def test_a_crash_at_any_point_loses_nothing_and_invents_nothing(
    database_url: str, point: str, committed: int
) -> None:
    crashed = _run(database_url, point)
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            messages_after_crash = connection.execute(text("SELECT count(*) FROM outbox")).scalar()
        recovered = _run(database_url, "none")
        with engine.connect() as connection:
            changes = connection.execute(text("SELECT n FROM crash_changes ORDER BY n")).scalars()
            effects = connection.execute(text("SELECT n FROM crash_effects ORDER BY n")).scalars()
            pending = connection.execute(
                text("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            ).scalar()
            change_list, effect_list = list(changes), list(effects)
    finally:
        engine.dispose()
    # The recovery run redoes the use-case the crash rolled back, so every n ends committed once.
    assert crashed == -signal.SIGKILL
    assert recovered == 0
    assert messages_after_crash == committed, "a rolled-back use-case leaves no message"
    assert change_list == list(range(COUNT))
    assert effect_list == list(range(COUNT)), "each committed message has exactly one effect"
    assert pending == 0
