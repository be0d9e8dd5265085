"""``repayguard decide --all --engine spark``: the whole book decided on Spark."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from datetime import datetime

from repayguard.bootstrap import Container
from repayguard.cli.output import console, errors, progress_bar
from repayguard.decisions import DecisionRunReport
from repayguard.errors import RepayguardError


def decide_on_spark(
    container: Container,
    *,
    as_of: datetime | None,
    events: Sequence[str],
    master: str | None,
    partitions: int | None,
    quiet: bool = False,
) -> DecisionRunReport:
    """Start Spark (``spark.master`` unless ``master`` is given), decide every borrower with
    the container's engine and write the run to its store; a bar follows the partitions
    (on stderr and hidden when ``quiet``, for ``--json``)."""
    from repayguard.decisions import DecideOnSpark, open_spark
    from repayguard.decisions import decide_on_spark as run_on_spark

    # pyspark 4.3 warns about pandas 3 at every Arrow hand-over; we hand it Arrow, not pandas.
    warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas", FutureWarning)
    settings = container.settings
    count = partitions or settings.spark.partitions
    if count < 1:
        raise RepayguardError("--partitions must be at least 1", hint="e.g. --partitions 8")
    with (errors if quiet else console).status(
        f"Starting Spark ({master or settings.spark.master})…"
    ):
        spark = open_spark(master or settings.spark.master)
    try:
        with progress_bar("Deciding on Spark", count, "partitions", quiet=quiet) as bar:
            return run_on_spark(
                DecideOnSpark(as_of=as_of, events=tuple(events), partitions=count),
                uow=container.uow(),
                engine=container.decision_engine,
                spark=spark,
                history_days=settings.decisions.history_days,
                progress=lambda done, _total: bar.set(done),
            )
    finally:
        spark.stop()
