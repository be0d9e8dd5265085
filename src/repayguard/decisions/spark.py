"""The Spark batch driver: the whole book decided by borrower partitions on Spark.

The store gives the run its baseline (every borrower's current entitlement and open-case
flags, as the in-process driver reads them); Spark spreads the borrowers over range partitions
of their ids, each with its previous tier and states joined in, and — when the events come
from Parquet — their events beside them. Every partition runs the same pure
``core.pipeline.decide`` through ``mapInArrow`` (:mod:`repayguard.decisions.spark_tasks`),
with the engine shipped as documents; the decided frames come back as Arrow and are written
through ``write_decided``, the in-process driver's own write step, in one transaction.
pyspark is the optional ``spark`` extra, imported only here and only when a run starts.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, Final

import polars as pl

from repayguard import entitlements, ingestion
from repayguard.core.events import EVENT_SCHEMA
from repayguard.core.pipeline import decide, empty_previous
from repayguard.decisions import triggers
from repayguard.decisions.engine import DecisionEngine
from repayguard.decisions.errors import SparkUnavailable
from repayguard.decisions.service import DecideBorrowers, DecisionRunReport, write_decided
from repayguard.decisions.spark_tasks import (
    BORROWER_ROW,
    EVENT_ROW,
    ORDER_FILE,
    ORDER_ROW,
    OUTPUT_DDL,
    PREVIOUS_COLUMNS,
    ROW_KIND,
    EngineDocuments,
    PartitionJob,
    decide_partition,
    from_ipc,
)
from repayguard.platform.uow import UnitOfWork

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

Progress = Callable[[int, int], None]
"""Told (partitions decided, partitions in all) while Spark works."""

INSTALL_HINT: Final = (
    "install the extra: pip install 'repayguard[spark]' (in a checkout: uv sync --extra spark); "
    "Spark also needs Java 17 or newer (Debian: apt-get install openjdk-17-jre-headless)"
)
_SPARK_TYPES: Final = {
    "String": "string", "Int16": "smallint", "Int32": "int", "Int64": "bigint",
    "Float64": "double", "Boolean": "boolean", "Datetime": "timestamp",
}  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class DecideOnSpark:
    """Re-decide every borrower on Spark as of a time (None: now)."""

    as_of: datetime | None = None
    events: Sequence[str] = ()
    """Parquet files or globs of events (what ``repayguard ingest`` would accept, already
    validated); empty: each partition reads its borrowers' events from the store."""
    partitions: int = 8

    def __post_init__(self) -> None:
        if self.partitions < 1:
            raise ValueError("a Spark run needs at least one partition")


def open_spark(master: str) -> SparkSession:
    """A Spark session for ``master``; on ``local[N]``: loopback only, this Python for the
    workers. The Spark UI is off and logs are quiet. Refuses with what to install when pyspark
    or Java is missing."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise SparkUnavailable("the Spark driver needs pyspark", hint=INSTALL_HINT) from exc
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise SparkUnavailable("Spark needs Java, and none was found", hint=INSTALL_HINT)
    builder: Any = SparkSession.builder.master(master).appName("repayguard-decide")
    settings = {
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
    }
    if master.startswith("local"):  # a cluster names its own hosts and Python
        settings |= {
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.pyspark.python": sys.executable,
            "spark.pyspark.driver.python": sys.executable,
        }
        # Python workers of a local master start from this variable, not from the setting
        # alone: without it they run whichever python3 is on PATH, which lacks repayguard.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # loopback, and no warning about it
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        session: SparkSession = builder.getOrCreate()
    except Exception as exc:  # the JVM gateway reports a missing or broken Java this way
        raise SparkUnavailable(f"Spark did not start: {exc}", hint=INSTALL_HINT) from exc
    session.sparkContext.setLogLevel("ERROR")
    return session


@contextmanager
def spark_session(master: str) -> Iterator[SparkSession]:
    """:func:`open_spark`, stopped on leaving."""
    session = open_spark(master)
    try:
        yield session
    finally:
        session.stop()


def decide_on_spark(
    cmd: DecideOnSpark,
    *,
    uow: UnitOfWork,
    engine: DecisionEngine,
    spark: SparkSession,
    history_days: int,
    progress: Progress | None = None,
) -> DecisionRunReport:
    """Decide the whole book on Spark and apply it like ``decide_borrowers(--all)`` would:
    same borrowers (everyone with an event), same history window, same previous states, same
    core; the run is recorded with trigger ``spark`` and commits once."""
    with uow:
        session = uow.session
        now = uow.clock.now()
        as_of = cmd.as_of or now
        seen = ingestion.latest_seq(session)  # the events this run may see (replay's cut-off)
        current = entitlements.current_frame(session, None)
        previous = entitlements.in_force_for_open_cases(
            session, current, as_of=entitlements.told_at(as_of, now=now)
        )
        bind: Any = session.get_bind()
        job = PartitionJob(
            documents=EngineDocuments.of(engine),
            as_of=as_of,
            since=as_of - timedelta(days=history_days),
            database_url=None if cmd.events else bind.url.render_as_string(hide_password=False),
        )
        if cmd.events:
            events = _parquet_events(spark, cmd.events)
            spine = events.select("borrower_id").distinct()
            events = events.where(events["occurred_at"] >= job.since).where(
                events["occurred_at"] <= as_of
            )
        else:
            ids = pl.DataFrame({"borrower_id": ingestion.borrower_ids(session)}, strict=False)
            spine, events = _spark_frame(spark, ids), None
        rows = _with_previous(spark, spine, previous)
        if events is not None:
            rows = rows.unionByName(_tagged(events, EVENT_ROW), allowMissingColumns=True)
        decided = rows.repartitionByRange(cmd.partitions, "borrower_id").mapInArrow(
            partial(decide_partition, job=job), OUTPUT_DDL
        )
        parts = _collect(spark, decided, cmd.partitions, progress)
        if not parts:  # nobody has events: the same empty run the in-process driver writes
            decisions, shadow = _nobody(engine, as_of), None
        else:
            decisions = _concat([from_ipc(p[0]) for p in parts])
            shadows = [from_ipc(p[1]) for p in parts if p[1] is not None]
            shadow = _concat(shadows) if shadows else None
        report = write_decided(
            decisions,
            cmd=DecideBorrowers(trigger=triggers.SPARK, as_of=as_of, mode="batch"),
            uow=uow, engine=engine, current=current, as_of=as_of, now=now, shadow=shadow,
            events_seq=seen,
        )  # fmt: skip
        uow.commit()
    return report


def _parquet_events(spark: SparkSession, paths: Sequence[str]) -> DataFrame:
    """Events from Parquet in the store's layout (absent payload columns null), with where
    each was read (the partition restores ingest's order and de-duplication from it)."""
    from pyspark.sql import functions as sf

    raw = spark.read.parquet(*paths)
    columns = [
        (sf.col(name) if name in raw.columns else sf.lit(None))
        .cast(_SPARK_TYPES[type(dtype).__name__])
        .alias(name)
        for name, dtype in EVENT_SCHEMA.items()
    ]
    where = [
        sf.col("_metadata.file_path").alias(ORDER_FILE),
        sf.col("_metadata.row_index").alias(ORDER_ROW),
    ]
    return raw.select(*columns, *where).where(sf.col("borrower_id").isNotNull())


def _spark_frame(spark: SparkSession, frame: pl.DataFrame) -> DataFrame:
    # Spark reads plain string and list types; Polars hands Arrow its large variants.
    table = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
    return spark.createDataFrame(table)


def _with_previous(spark: SparkSession, spine: DataFrame, previous: pl.DataFrame) -> DataFrame:
    """The spine of borrowers, each with its previous tier, states and open-case flags."""
    known = previous.select(
        "borrower_id",
        *(
            pl.col(c) if c in previous.columns else pl.lit(None, pl.Boolean).alias(c)
            for c in PREVIOUS_COLUMNS
        ),
    )
    return _tagged(spine.join(_spark_frame(spark, known), "borrower_id", "left"), BORROWER_ROW)


def _tagged(rows: DataFrame, kind: int) -> DataFrame:
    from pyspark.sql import functions as sf

    return rows.withColumn(ROW_KIND, sf.lit(kind).cast("tinyint"))


def _collect(
    spark: SparkSession, decided: DataFrame, partitions: int, progress: Progress | None
) -> list[tuple[bytes, bytes | None]]:
    """Run the job and bring every partition's answer back, telling ``progress`` how many
    of the final stage's tasks have finished meanwhile."""
    context = spark.sparkContext
    group = f"repayguard-{uuid.uuid4().hex}"
    result: list[tuple[bytes, bytes | None]] = []
    failure: list[BaseException] = []

    def run() -> None:
        context.setJobGroup(group, "repayguard decide --all --engine spark")
        try:
            result.extend(
                (bytes(r[0]), None if r[1] is None else bytes(r[1])) for r in decided.collect()
            )
        except BaseException as exc:  # re-raised in the caller's thread
            failure.append(exc)

    worker = threading.Thread(target=run, name=group, daemon=True)
    worker.start()
    tracker = context.statusTracker()
    while worker.is_alive():
        worker.join(0.5)
        if progress is not None:
            progress(_done_tasks(tracker, group), partitions)
    if failure:
        raise failure[0]
    if progress is not None:
        progress(partitions, partitions)
    return result


def _done_tasks(tracker: Any, group: str) -> int:
    """Finished tasks of the group's last stage (the one that decides)."""
    stages = [
        stage
        for job_id in tracker.getJobIdsForGroup(group)
        if (job := tracker.getJobInfo(job_id)) is not None
        for stage in job.stageIds
    ]
    info = tracker.getStageInfo(max(stages)) if stages else None
    return 0 if info is None else int(info.numCompletedTasks)


def _concat(frames: list[pl.DataFrame]) -> pl.DataFrame:
    return pl.concat(frames, how="vertical").sort("borrower_id")


def _nobody(engine: DecisionEngine, as_of: datetime) -> pl.DataFrame:
    return decide(
        pl.DataFrame(schema=EVENT_SCHEMA), as_of=as_of, model=engine.model, bands=engine.bands,
        policy=engine.compiled, previous=empty_previous(), borrowers=[],
    )  # fmt: skip
