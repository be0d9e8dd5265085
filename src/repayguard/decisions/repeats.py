"""Decisions that repeat their borrower's latest one, logged one chunk to a row.

A nightly re-decision of a quiet book decides, for most borrowers, exactly what the night
before decided: the same inputs, PD, tier, rule, states and reasons under the same model and
policy. Logging each of those as a full ``decisions`` row (~650 bytes and three index
entries) was most of what a whole-book run cost above the core. A repeat is logged instead as
its borrower and the id of the full row that holds its content (``same_as``), all of a
chunk's repeats in one ``decision_repeats`` row (LZ4 Arrow IPC); the repository reads them
back as whole decisions, so every reader of the log keeps its answers, and each decision of
every run can still be rebuilt (replay verifies them like any other).

Whether a decision repeats is told by a digest of its content, kept with each borrower's
latest decision in ``last_decisions``: a 64-bit hash (Polars', seeded: the same in every
process of one Polars version; another version only makes one run log everyone in full).
"""

from __future__ import annotations

import io
import secrets
import time
from typing import Final

import polars as pl

from repayguard.decisions.models import DecisionRepeatRow, DecisionRow
from repayguard.platform.db import table_of

CONTENT: Final = pl.Schema(
    {
        "input_hash": pl.String(),
        "inputs": pl.String(),
        "pd": pl.Float64(),
        "tier": pl.Int16(),
        "model_version": pl.String(),
        "policy_version": pl.String(),
        "policy_hash": pl.String(),
        "rule_id": pl.String(),
        "auto_debit": pl.String(),
        "early_repayment": pl.String(),
        "manual": pl.String(),
        "manual_channels": pl.List(pl.String()),
        "reasons": pl.List(pl.String()),
        "requires_approval": pl.Boolean(),
        "notice_days": pl.Int16(),
        "max_days": pl.Int16(),
        "review_after_days": pl.Int16(),
        "guardrail": pl.String(),
        "overlay_id": pl.String(),
    }
)
"""What a decision decided: every logged column but its id, run, borrower and as-of time (in
the types they are hashed in, so both drivers' frames give one digest)."""

PAYLOAD: Final = pl.Schema({"borrower_id": pl.String(), "same_as": pl.String()})
_SEED: Final = 20_261_207


def digests(decisions: pl.DataFrame) -> pl.Series:
    """The content digest of each decision (Int64, as the store keeps it)."""
    content = pl.struct(pl.col(name).cast(dtype) for name, dtype in CONTENT.items())
    return decisions.select(
        content.hash(seed=_SEED).reinterpret(signed=True).alias("digest")
    ).to_series()


def id_prefix() -> str:
    """A new chunk's decision-id prefix: the wall clock in nanoseconds (decision ids sort in
    the order they were made), then random bits; 8 hex digits of index complete an id."""
    return f"{time.time_ns():016x}{secrets.token_hex(4)}"


def repeat_ids(prefix: str, count: int) -> list[str]:
    return [f"{prefix}{index:08x}" for index in range(count)]


def encode(repeated: pl.DataFrame) -> bytes:
    """The payload of a chunk's repeats (``PAYLOAD`` columns, in borrower order)."""
    sink = io.BytesIO()
    repeated.select(PAYLOAD.names()).write_ipc(sink, compression="lz4")
    return sink.getvalue()


def decode(batch: DecisionRepeatRow) -> pl.DataFrame:
    """A batch's repeats with their decision ids (``decision_id``, ``borrower_id``,
    ``same_as``), in borrower order."""
    frame = pl.read_ipc(io.BytesIO(batch.payload))
    return frame.with_columns(
        pl.Series("decision_id", repeat_ids(batch.id_prefix, frame.height), pl.String)
    ).select("decision_id", *PAYLOAD.names())


_ROW_FIELDS: Final = tuple(column.key for column in table_of(DecisionRow).columns)


def as_decision(
    source: DecisionRow, *, decision_id: str, run_id: str, batch: DecisionRepeatRow
) -> DecisionRow:
    """The repeat ``decision_id`` of ``batch`` as a full decision (a transient row, never
    added to a session): ``source``'s content under the repeat's id, run and as-of time."""
    values = {name: getattr(source, name) for name in _ROW_FIELDS}
    values.update(
        decision_id=decision_id,
        run_id=run_id,
        as_of=batch.as_of,
        manual_channels=list(source.manual_channels),
        reasons=list(source.reasons),
    )
    return DecisionRow(**values)
