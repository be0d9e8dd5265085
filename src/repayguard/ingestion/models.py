"""Ingestion tables: the append-only event store, quarantined records and batch receipts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from repayguard.platform.db import Base, UtcDateTime


class EventRow(Base):
    """One accepted event, stored once (``event_id`` is unique), never updated."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_borrower_time", "borrower_id", "occurred_at"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    type: Mapped[str] = mapped_column(String(20))
    schema_version: Mapped[int] = mapped_column(SmallInteger)
    borrower_id: Mapped[str | None] = mapped_column(String(64))
    loan_id: Mapped[str | None] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    kind: Mapped[str] = mapped_column(String(24))
    amount: Mapped[float | None] = mapped_column(Float)
    balance: Mapped[float | None] = mapped_column(Float)
    method: Mapped[str | None] = mapped_column(String(16))
    channel: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str | None] = mapped_column(String(16))
    early: Mapped[bool | None] = mapped_column(Boolean)
    score: Mapped[float | None] = mapped_column(Float)
    inquiries: Mapped[int | None] = mapped_column(Integer)
    external_debt: Mapped[float | None] = mapped_column(Float)
    series: Mapped[str | None] = mapped_column(String(64))
    value: Mapped[float | None] = mapped_column(Float)
    batch_id: Mapped[str] = mapped_column(String(32))


class IngestBatchRow(Base):
    """The receipt of one batch: where it came from and what became of its records."""

    __tablename__ = "ingest_batches"

    batch_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    source: Mapped[str] = mapped_column(String(300))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    accepted: Mapped[int] = mapped_column(Integer)
    duplicates: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[int] = mapped_column(Integer)


class QuarantineRow(Base):
    """A rejected record kept with its reasons, so it can be fixed and sent again: ``raw`` is
    sealed under data key ``key_id`` (None: a row from before records were sealed, its record
    not kept), ``errors`` are redacted of personal values, the row expires after retention."""

    __tablename__ = "quarantine"
    __table_args__ = (Index("ix_quarantine_received_at", "received_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch_id: Mapped[str] = mapped_column(String(32), index=True)
    record_index: Mapped[int] = mapped_column(Integer)
    event_id: Mapped[str | None] = mapped_column(String(200))
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    raw: Mapped[str] = mapped_column(Text)
    key_id: Mapped[str | None] = mapped_column(String(40))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
