"""Ingestion: typed events in from REST and files, validated, de-duplicated, quarantined."""

from repayguard.ingestion.files import count_records, expand_paths
from repayguard.ingestion.repository import (
    SEQUENCED_SCHEMA,
    borrower_ids,
    count_through,
    latest_event_at,
    load_history,
    scan_history,
    scan_sequenced,
    sequence_state,
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
    "SEQUENCED_SCHEMA",
    "FieldError",
    "FilesReport",
    "IngestEvents",
    "IngestReport",
    "Rejection",
    "borrower_ids",
    "count_records",
    "count_through",
    "expand_paths",
    "ingest_events",
    "ingest_files",
    "latest_event_at",
    "load_history",
    "scan_history",
    "scan_sequenced",
    "sequence_state",
]
