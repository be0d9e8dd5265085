"""Benchmark: the whole book decided in-process vs on Spark (``decide --all --engine spark``).

Both drivers decide the same ingested book in the same run, into one SQLite store (the first
run of each is a warm-up that also writes every entitlement, so the timed runs do the same
work); Spark once with the events read from Parquet, once with each partition reading its
borrowers from the store. Also reports how far the decisions differ. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import polars as pl
from sqlalchemy import text

from repayguard import ingestion
from repayguard.bootstrap import Container
from repayguard.decisions import (
    DecideBorrowers,
    DecideOnSpark,
    decide_borrowers,
    decide_on_spark,
    spark_session,
    triggers,
)

from _common import AS_OF, embedded, portfolio, timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--borrowers", type=int, default=20_000)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--partitions", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        events = portfolio(args.borrowers, root / "events")
        files = [str(p) for p in sorted((root / "events").glob("events-*.parquet"))]
        with embedded(root / "db") as container, spark_session(args.master) as spark:
            ingestion.ingest_files(
                ingestion.expand_paths([root / "events"]), uow=container.uow, setup=container.ingest
            )
            engine, history = container.decision_engine, container.settings.decisions.history_days

            def in_process() -> str:
                return decide_borrowers(
                    DecideBorrowers(as_of=AS_OF, trigger=triggers.CLI),
                    uow=container.uow(), engine=engine, history_days=history,
                ).run_id  # fmt: skip

            def on_spark(parquet: list[str]) -> str:
                return decide_on_spark(
                    DecideOnSpark(as_of=AS_OF, events=parquet, partitions=args.partitions),
                    uow=container.uow(), engine=engine, spark=spark, history_days=history,
                ).run_id  # fmt: skip

            in_process()
            on_spark(files)  # warm-up: JVM, Python workers, the engine compiled per worker
            local_s, local_run = timed(in_process)
            parquet_s, parquet_run = timed(lambda: on_spark(files))
            store_s, store_run = timed(lambda: on_spark([]))
            local = _log(container, local_run)
            spark_logs = [_log(container, parquet_run), _log(container, store_run)]
            pd_diff = max(float((log["pd"] - local["pd"]).abs().max() or 0.0) for log in spark_logs)
            same_rest = all(log.drop("pd").equals(local.drop("pd")) for log in spark_logs)
    print(
        json.dumps(
            {
                "borrowers": args.borrowers,
                "events": events,
                "master": args.master,
                "partitions": args.partitions,
                "in_process_s": round(local_s, 2),
                "spark_parquet_s": round(parquet_s, 2),
                "spark_store_s": round(store_s, 2),
                # Successive runs on one store: the second sees the first's tiers and states.
                "max_pd_difference": pd_diff,
                "other_columns_identical": same_rest,
            }
        )
    )


def _log(container: Container, run_id: str) -> pl.DataFrame:
    """A run's decisions without the ids that differ by construction."""
    with container.session_factory() as session:
        rows = session.execute(
            text(
                "SELECT borrower_id, tier, pd, rule_id, auto_debit, early_repayment, manual, "
                "manual_channels, reasons, input_hash FROM decisions WHERE run_id = :r "
                "ORDER BY borrower_id"
            ),
            {"r": run_id},
        ).all()
    names = ["borrower_id", "tier", "pd", "rule_id", "auto_debit", "early_repayment", "manual",
             "manual_channels", "reasons", "input_hash"]  # fmt: skip
    return pl.DataFrame([tuple(r) for r in rows], schema=names, orient="row")


if __name__ == "__main__":
    main()
