"""Ingestion: typed events in from REST and files, validated, de-duplicated, quarantined."""

from repayguard.ingestion.files import count_records, expand_paths
from repayguard.ingestion.quarantine import (
    EXPIRY_JOB,
    QUARANTINE_ROTATED,
    QuarantinedRecord,
    QuarantineRotation,
    expire_quarantine,
    expiry_job,
    quarantine_key_usage,
    quarantined,
    rotate_quarantine,
)
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
    IngestSetup,
    ingest_events,
    ingest_files,
)
from repayguard.ingestion.validation import EventWindow, FieldError, Rejection

__all__ = [
    "EVENTS_INGESTED",
    "EXPIRY_JOB",
    "MAX_BATCH",
    "QUARANTINE_ROTATED",
    "EventWindow",
    "FieldError",
    "FilesReport",
    "IngestEvents",
    "IngestReport",
    "IngestSetup",
    "QuarantineRotation",
    "QuarantinedRecord",
    "Rejection",
    "borrower_ids",
    "count_records",
    "events_between",
    "expand_paths",
    "expire_quarantine",
    "expiry_job",
    "ingest_events",
    "ingest_files",
    "latest_event_at",
    "latest_seq",
    "load_history",
    "quarantine_key_usage",
    "quarantined",
    "rotate_quarantine",
    "scan_borrower_range",
    "scan_history",
    "seq_received_by",
]
