"""The Spark batch driver decides a synthetic book exactly as the in-process driver does.

Two stores hold the same book. One is decided in-process, the other on Spark (local mode):
first with the events read from Parquet by Spark, then — a month later, so hysteresis works
from the first run's tiers — with each partition reading its borrowers' events from the store.
Decisions (borrower, tier, pd to 1e-12, states, reasons, rule, policy) and entitlements must
be identical. pyspark (the ``spark`` extra, installed by ``make venv``) and Java are required:
without them this module fails, it never skips.

Book size: ``REPAYGUARD_SPARK_TEST_BORROWERS`` (default 600, to stay near 90 s per database on
a busy 2-core machine); the 20,000-borrower check (docs/spark.md):
``REPAYGUARD_SPARK_TEST_BORROWERS=20000 .venv/bin/pytest -q -n 0 -k sqlite
tests/integration/test_spark_driver.py``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import SparkSession
from sqlalchemy import text

from repayguard import ingestion
from repayguard.bootstrap import Container, bootstrap
from repayguard.decisions import (
    DecideBorrowers,
    DecideOnSpark,
    DecisionRunReport,
    decide_borrowers,
    decide_on_spark,
    open_spark,
    triggers,
)
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock
from repayguard.simulation import PortfolioSpec, generate_portfolio

from support.common import fresh_database, make_settings

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("spark")]

BORROWERS = int(os.environ.get("REPAYGUARD_SPARK_TEST_BORROWERS", "600"))
FIRST = datetime(2026, 1, 1, tzinfo=UTC)
SECOND = FIRST + timedelta(days=35)
DECISION_COLUMNS = (
    "borrower_id, tier, pd, rule_id, auto_debit, early_repayment, manual, manual_channels, "
    "reasons, requires_approval, notice_days, max_days, review_after_days, guardrail, "
    "policy_version, policy_hash, model_version, input_hash, inputs, as_of"
)
ENTITLEMENT_COLUMNS = (
    "borrower_id, loan_scope, auto_debit, early_repayment, manual, manual_channels, reasons, "
    "interim, effective_at, expires_at, review_at, rule_id, tier, tier_since"
)


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    session = open_spark("local[2]")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic book of BORROWERS borrowers over 12 months (Parquet, the store's layout)."""
    out = tmp_path_factory.mktemp("book")
    spec = PortfolioSpec(
        borrowers=BORROWERS, months=12, seed=16, start=datetime(2025, 1, 1, tzinfo=UTC)
    )
    generate_portfolio(spec, out, workers=1)
    return out


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def stores(
    request: pytest.FixtureRequest, tmp_path: Path, book: Path
) -> Iterator[tuple[Container, Container]]:
    """Two fresh stores of one kind holding the same ingested book."""
    with (
        fresh_database(request.param, tmp_path / "a") as url_a,
        fresh_database(request.param, tmp_path / "b") as url_b,
    ):
        built = []
        for url, name in ((url_a, "a"), (url_b, "b")):
            (tmp_path / name).mkdir(exist_ok=True)
            settings = make_settings(url, tmp_path / name, online=False)
            built.append(
                bootstrap(settings, clock=FixedClock(SECOND), bus=RecordingBus(), migrate=True)
            )
        a, b = built
        with a, b:
            for store in (a, b):
                ingestion.ingest_files(
                    ingestion.expand_paths([book]), uow=store.uow, setup=store.ingest
                )
            yield a, b


def test_spark_decides_the_book_exactly_as_the_in_process_driver(
    stores: tuple[Container, Container], spark: SparkSession, book: Path
) -> None:
    in_process, on_spark = stores
    history = in_process.settings.decisions.history_days
    parquet = sorted(str(p) for p in book.glob("events-*.parquet"))

    for as_of, events in ((FIRST, parquet), (SECOND, [])):
        expected = decide_borrowers(
            DecideBorrowers(trigger=triggers.CLI, as_of=as_of),
            uow=in_process.uow(),
            engine=in_process.decision_engine,
            history_days=history,
        )
        got = decide_on_spark(
            DecideOnSpark(as_of=as_of, events=events, partitions=3),
            uow=on_spark.uow(),
            engine=on_spark.decision_engine,
            spark=spark,
            history_days=history,
        )
        assert got.borrowers == expected.borrowers == BORROWERS
        assert (got.changed, got.tightened, got.loosened, got.held) == (
            expected.changed, expected.tightened, expected.loosened, expected.held,
        )  # fmt: skip
        assert got.lineage == expected.lineage
        _assert_same_decisions(_decisions(in_process, expected), _decisions(on_spark, got))
        assert _rows(in_process, f"SELECT {ENTITLEMENT_COLUMNS} FROM entitlements") == _rows(
            on_spark, f"SELECT {ENTITLEMENT_COLUMNS} FROM entitlements"
        )
        assert _rows(
            on_spark, "SELECT trigger, mode FROM decision_runs WHERE run_id = :r", r=got.run_id
        ) == [("spark", "batch")]
    assert expected.changed > 0, "the second run moved nobody: hysteresis went untested"


def _decisions(store: Container, report: DecisionRunReport) -> list[tuple[Any, ...]]:
    return _rows(
        store,
        f"SELECT {DECISION_COLUMNS} FROM decisions WHERE run_id = :r ORDER BY borrower_id",
        r=report.run_id,
    )


def _assert_same_decisions(expected: list[tuple[Any, ...]], got: list[tuple[Any, ...]]) -> None:
    assert len(got) == len(expected)
    for want, have in zip(expected, got, strict=True):
        assert have[2] == pytest.approx(want[2], abs=1e-12, rel=0), want[0]
        assert have[:2] + have[3:] == want[:2] + want[3:], want[0]


def _rows(store: Container, query: str, **params: object) -> list[tuple[Any, ...]]:
    with store.session_factory() as session:
        return sorted(tuple(row) for row in session.execute(text(query), params))
