"""Decision log: every decision with its lineage, and the runs that produced them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from repayguard.platform.db import Base, UtcDateTime


class DecisionRunRow(Base):
    """One pass of the decision core over a set of borrowers (online micro-batch or batch),
    and what caused it (``trigger``: see :mod:`repayguard.decisions.triggers`)."""

    __tablename__ = "decision_runs"

    run_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    mode: Mapped[str] = mapped_column(String(16))
    trigger: Mapped[str] = mapped_column(String(48))
    as_of: Mapped[datetime] = mapped_column(UtcDateTime)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    borrowers: Mapped[int] = mapped_column(Integer)
    changed: Mapped[int] = mapped_column(Integer)
    tightened: Mapped[int] = mapped_column(Integer)
    loosened: Mapped[int] = mapped_column(Integer)
    model_version: Mapped[str] = mapped_column(String(64))
    policy_version: Mapped[str] = mapped_column(String(64))
    policy_hash: Mapped[str] = mapped_column(String(64))
    events_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    """The highest event ``seq`` stored when the run read its history: a replay gives the run
    the events up to it (None: recorded before replay did, see ``repayguard replay``)."""
    bands_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    bands_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """sha256 of the tier bands document the run decided with."""


class DecisionRow(Base):
    """A decision and its lineage: what went in (hashed and kept), which model and policy
    version, which rule matched, the outputs and reasons. Never updated."""

    __tablename__ = "decisions"

    decision_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(32), index=True)
    borrower_id: Mapped[str] = mapped_column(String(64), index=True)
    as_of: Mapped[datetime] = mapped_column(UtcDateTime)
    input_hash: Mapped[str] = mapped_column(String(64))
    inputs: Mapped[str] = mapped_column(String)
    pd: Mapped[float] = mapped_column(Float)
    tier: Mapped[int] = mapped_column(SmallInteger)
    model_version: Mapped[str] = mapped_column(String(64))
    policy_version: Mapped[str] = mapped_column(String(64))
    policy_hash: Mapped[str] = mapped_column(String(64))
    rule_id: Mapped[str] = mapped_column(String(64))
    auto_debit: Mapped[str] = mapped_column(String(16))
    early_repayment: Mapped[str] = mapped_column(String(16))
    manual: Mapped[str] = mapped_column(String(16))
    manual_channels: Mapped[list[str]] = mapped_column(JSON)
    reasons: Mapped[list[str]] = mapped_column(JSON)
    requires_approval: Mapped[bool] = mapped_column(Boolean)
    notice_days: Mapped[int] = mapped_column(SmallInteger)
    max_days: Mapped[int | None] = mapped_column(SmallInteger)
    review_after_days: Mapped[int | None] = mapped_column(SmallInteger)
    guardrail: Mapped[str | None] = mapped_column(String(300))
    overlay_id: Mapped[str | None] = mapped_column(String(32))
    """The emergency overlay that tightened this decision over the policy's, if any."""


class LastDecisionRow(Base):
    """Each borrower's latest decision: when (its ``as_of``) and in which tier, kept in the same
    transaction as the decision log so the worker finds the borrowers due for re-decision with
    an index range scan per tier instead of searching the whole, ever-growing log."""

    __tablename__ = "last_decisions"
    __table_args__ = (Index("ix_last_decisions_tier_decided", "tier", "decided_at"),)

    borrower_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tier: Mapped[int] = mapped_column(SmallInteger)
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime)
    run_id: Mapped[str] = mapped_column(String(32))
    content_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    """The ``decisions`` row holding what the latest decision decided (its own row, or the
    earlier one it repeated: see :class:`DecisionRepeatRow`)."""
    digest: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    """The content digest of that decision (``decisions.repeats.digests``); None: unknown
    (logged before digests were kept), so the next decision is logged in full."""


class DecisionRepeatRow(Base):
    """Decisions of one chunk of a run that decided exactly what their borrower's latest
    decision had decided (same inputs, PD, tier, rule, states, reasons, versions): one row for
    the chunk instead of a full ``decisions`` row each. ``payload`` is an LZ4 Arrow IPC
    table of (``borrower_id``, ``same_as``: the ``decisions`` row with the content), in
    borrower order; the i-th decision's id is ``id_prefix`` followed by i as 8 hex digits, so
    it sorts with the run's other decisions and is found from its own id. Never updated."""

    __tablename__ = "decision_repeats"

    id_prefix: Mapped[str] = mapped_column(String(24), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(32), index=True)
    as_of: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    first_borrower: Mapped[str] = mapped_column(String(64))
    last_borrower: Mapped[str] = mapped_column(String(64))
    decisions: Mapped[int] = mapped_column(Integer)
    payload: Mapped[bytes] = mapped_column(LargeBinary)


class ShadowDecisionRow(Base):
    """What the challenger policy decided beside one production decision (``decision_id``),
    with no effect on entitlements; ``differs`` when any method state or channel differs
    from the champion's. Never updated."""

    __tablename__ = "shadow_decisions"
    __table_args__ = (Index("ix_shadow_decisions_hash_differs", "challenger_hash", "differs"),)

    decision_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(32), index=True)
    borrower_id: Mapped[str] = mapped_column(String(64), index=True)
    as_of: Mapped[datetime] = mapped_column(UtcDateTime)
    challenger_name: Mapped[str] = mapped_column(String(64))
    challenger_version: Mapped[str] = mapped_column(String(64))
    challenger_hash: Mapped[str] = mapped_column(String(64))
    rule_id: Mapped[str] = mapped_column(String(64))
    auto_debit: Mapped[str] = mapped_column(String(16))
    early_repayment: Mapped[str] = mapped_column(String(16))
    manual: Mapped[str] = mapped_column(String(16))
    manual_channels: Mapped[list[str]] = mapped_column(JSON)
    reasons: Mapped[list[str]] = mapped_column(JSON)
    requires_approval: Mapped[bool] = mapped_column(Boolean)
    differs: Mapped[bool] = mapped_column(Boolean)
