"""Ingestion: typed events in from REST and files, validated, de-duplicated, quarantined."""

from repayguard.ingestion.files import count_records, expand_paths
from repayguard.ingestion.repository import (
    borrower_ids,
    events_between,
    latest_event_at,
    latest_seq,
    load_history,
    scan_borrower_range,
    scan_history,
    seq_received_by,
)
from repayguard.ingestion.service import (
    EVENTS_INGESTED,
    MAX_BATCH,
    FilesReport,
    IngestEvents,
    IngestReport,
    ingest_events,
    ingest_files,
)
from repayguard.ingestion.validation import FieldError, Rejection

__all__ = [
    "EVENTS_INGESTED",
    "MAX_BATCH",
    "FieldError",
    "FilesReport",
    "IngestEvents",
    "IngestReport",
    "Rejection",
    "borrower_ids",
    "count_records",
    "events_between",
    "expand_paths",
    "ingest_events",
    "ingest_files",
    "latest_event_at",
    "latest_seq",
    "load_history",
    "scan_borrower_range",
    "scan_history",
    "seq_received_by",
]
