"""HTTP endpoints of ingestion: thin, they call the same service as the CLI."""

from __future__ import annotations

from typing import Protocol

from fastapi import APIRouter, Request

from repayguard.ingestion.schemas import (
    EventBatch,
    FieldErrorRead,
    IngestReportRead,
    RejectionRead,
)
from repayguard.ingestion.service import IngestEvents, IngestSetup, ingest_events
from repayguard.platform.web import UnitsOfWork

router = APIRouter(tags=["ingestion"])


class IngestMeter(Protocol):
    """Hears what became of every batch posted here (the process's metrics)."""

    def events_ingested(
        self, source: str, *, accepted: int, duplicates: int, rejected: int
    ) -> None: ...


@router.post("/v1/events", response_model=IngestReportRead)
def post_events(batch: EventBatch, request: Request, uow: UnitsOfWork) -> IngestReportRead:
    """Append a batch: invalid records are rejected one by one, the valid ones land."""
    setup: IngestSetup = request.app.state.container.ingest
    report = ingest_events(IngestEvents(batch.events, source="api"), uow=uow(), setup=setup)
    meter: IngestMeter | None = request.app.state.ingest_meter
    if meter is not None:
        meter.events_ingested(
            "api",
            accepted=report.accepted,
            duplicates=report.duplicates,
            rejected=report.rejected,
        )
    return IngestReportRead(
        batch_id=report.batch_id,
        accepted=report.accepted,
        duplicates=report.duplicates,
        rejected=report.rejected,
        rejections=[
            RejectionRead(
                index=r.index,
                event_id=r.event_id,
                errors=[FieldErrorRead(field=e.field, reason=e.reason) for e in r.errors],
            )
            for r in report.rejections
        ],
    )
